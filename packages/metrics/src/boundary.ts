/**
 * Boundary of a binary mask: the mask minus its erosion by the 3 x 3 cross (4-connectivity), as
 * MONAI (`get_mask_edges`) and medpy (`__surface_distances`) define it. Pixels outside the image
 * count as background, so a foreground pixel on the image border is a boundary pixel (the
 * `border_value = 0` default of scipy's `binary_erosion`, which both references use).
 */
import { assertMask, assertShape } from './validation';

/**
 * Boundary pixels of `mask` (row-major H x W, non-zero = foreground): 1 where a foreground pixel has
 * a background 4-neighbour or touches the image border, else 0. Shape H x W, unitless.
 */
export function extractBoundary(mask: Uint8Array, width: number, height: number): Uint8Array {
  assertShape('extractBoundary', width, height);
  assertMask('extractBoundary', 'mask', mask, width, height);
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const i = row + x;
      if (!mask[i]) continue;
      if (x === 0 || x === width - 1 || y === 0 || y === height - 1 || !mask[i - 1] || !mask[i + 1] || !mask[i - width] || !mask[i + width]) {
        out[i] = 1;
      }
    }
  }
  return out;
}
