/**
 * Up-front argument checks shared by the metric functions. Every error names the function, the
 * argument and what was expected, so a bad call says exactly what to fix.
 */

/** Pixel spacing (x = along a row / width, y = along a column / height), in physical units such as mm. */
export type Spacing = readonly [number, number];

/** Throws unless `width` and `height` are positive integers. */
export function assertShape(fn: string, width: number, height: number): void {
  if (!Number.isInteger(width) || width <= 0) throw new RangeError(`${fn}: width must be a positive integer, got ${width}`);
  if (!Number.isInteger(height) || height <= 0) throw new RangeError(`${fn}: height must be a positive integer, got ${height}`);
}

/** Throws unless `mask` is a Uint8Array of exactly `width * height` values (row-major H x W). */
export function assertMask(fn: string, arg: string, mask: unknown, width: number, height: number): asserts mask is Uint8Array {
  if (!(mask instanceof Uint8Array)) {
    throw new TypeError(`${fn}: ${arg} must be a Uint8Array (row-major H x W, non-zero = foreground), got ${describe(mask)}`);
  }
  if (mask.length !== width * height) {
    throw new RangeError(`${fn}: ${arg} has ${mask.length} values, expected width x height = ${width} x ${height} = ${width * height}`);
  }
}

/** Returns a validated spacing, [1, 1] (pixels) when absent. */
export function resolveSpacing(fn: string, spacing: Spacing | undefined): [number, number] {
  if (spacing === undefined) return [1, 1];
  if (!Array.isArray(spacing) || spacing.length !== 2 || !spacing.every((s) => typeof s === 'number' && Number.isFinite(s) && s > 0)) {
    throw new RangeError(`${fn}: spacing must be [sx, sy] with two finite positive numbers, got ${JSON.stringify(spacing)}`);
  }
  return [spacing[0], spacing[1]];
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return typeof v;
  return (v as object).constructor?.name ?? 'object';
}
