// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { applyWindow, composeOverlay, representedImage, resizeNearest, type GreyImage, type OverlayOptions } from '../src/lib/overlay';

const img = (width: number, height: number, values: number[]): GreyImage => ({ width, height, data: Uint8ClampedArray.from(values) });
const OPTS: OverlayOptions = {
  prediction: { visible: true, opacity: 1 },
  groundTruth: { visible: true, opacity: 1 },
  overlap: { visible: true, opacity: 1 },
  actions: { visible: true, opacity: 1 },
  level: 127.5,
  window: 255,
};
const px = (rgba: Uint8ClampedArray, p: number) => Array.from(rgba.slice(p * 4, p * 4 + 4));

describe('applyWindow', () => {
  it.each([
    // v, level, window, expected: (v - (level - window/2)) / window * 255, clamped
    [0, 127.5, 255, 0],
    [255, 127.5, 255, 255],
    [100, 127.5, 255, 100],
    [100, 100, 100, 128], // (100 - 50) / 100 * 255 = 127.5 -> 128
    [40, 100, 100, 0], // below the window
    [160, 100, 100, 255], // above the window
    [75, 100, 100, 64], // 25 / 100 * 255 = 63.75 -> 64
  ])('v=%d level=%d window=%d -> %d', (v, level, window, expected) => {
    expect(applyWindow(v, level, window)).toBe(expected);
  });
  it('rejects a non-positive window', () => {
    expect(() => applyWindow(1, 1, 0)).toThrow('applyWindow: window must be > 0, got 0');
  });
});

describe('composeOverlay', () => {
  // 2 x 2: pixel 0 prediction only, 1 ground truth only, 2 both, 3 neither (masked by the agent)
  const image = img(2, 2, [10, 20, 30, 40]);
  const pred = img(2, 2, [255, 0, 255, 0]);
  const gt = img(2, 2, [0, 255, 255, 0]);
  const act = img(2, 2, [0, 0, 0, 255]);

  it('colours prediction red, ground truth green, overlap yellow and masked pixels blue (opacity 1)', () => {
    const { rgba, counts } = composeOverlay(image, pred, gt, act, OPTS);
    expect(px(rgba, 0)).toEqual([255, 0, 0, 255]);
    expect(px(rgba, 1)).toEqual([0, 255, 0, 255]);
    expect(px(rgba, 2)).toEqual([255, 255, 0, 255]);
    expect(px(rgba, 3)).toEqual([0, 110, 255, 255]);
    expect(counts).toEqual({ predictionOnly: 1, groundTruthOnly: 1, overlap: 1, masked: 1 });
  });

  it('blends with the layer opacity: 0.5 red over grey 10 -> (132.5, 5, 5)', () => {
    const { rgba } = composeOverlay(image, pred, null, null, { ...OPTS, prediction: { visible: true, opacity: 0.5 } });
    // 10 * 0.5 + 255 * 0.5 = 132.5 -> Uint8ClampedArray rounds half to even: 132
    expect(px(rgba, 0)).toEqual([132, 5, 5, 255]);
    expect(px(rgba, 1)).toEqual([20, 20, 20, 255]);
  });

  it('hidden layers leave the windowed image; overlap falls back to red when only the overlap layer is hidden', () => {
    const hidden = { visible: false, opacity: 1 };
    const { rgba } = composeOverlay(image, pred, gt, act, { ...OPTS, overlap: hidden, actions: hidden, groundTruth: hidden });
    expect(px(rgba, 1)).toEqual([20, 20, 20, 255]);
    expect(px(rgba, 2)).toEqual([255, 0, 0, 255]);
    expect(px(rgba, 3)).toEqual([40, 40, 40, 255]);
  });

  it('applies the window to the image', () => {
    // window [10, 30]: 10 -> 0, 20 -> 127.5 -> 128, 30 and 40 -> 255
    const { rgba } = composeOverlay(image, null, null, null, { ...OPTS, level: 20, window: 20 });
    expect([0, 1, 2, 3].map((p) => px(rgba, p)[0])).toEqual([0, 128, 255, 255]);
  });

  it('resamples masks of another size by nearest neighbour', () => {
    const big = img(4, 4, [255, 255, 0, 0, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const { counts } = composeOverlay(image, big, null, null, OPTS);
    expect(counts.predictionOnly).toBe(1);
  });

  it('rejects image data of the wrong length', () => {
    expect(() => composeOverlay(img(3, 3, [1, 2]), null, null, null, OPTS)).toThrow('composeOverlay: image data has 2 values, expected 3x3');
  });
});

describe('resizeNearest and representedImage', () => {
  it('upsamples 2x1 to 4x2 by repeating pixels', () => {
    expect(Array.from(resizeNearest(img(2, 1, [1, 2]), 4, 2).data)).toEqual([1, 1, 2, 2, 1, 1, 2, 2]);
  });
  it('sets masked pixels to the mask value (Fig. 9)', () => {
    const rgba = representedImage(img(2, 1, [100, 200]), img(2, 1, [255, 0]), 127.5, 255);
    expect(Array.from(rgba)).toEqual([0, 0, 0, 255, 200, 200, 200, 255]);
  });
});
