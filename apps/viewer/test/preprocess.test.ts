// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { inputGeometry, maskedUnion, planes, resizeBilinear01, scaleIntensity, threshold } from '../src/lib/preprocess';

describe('resizeBilinear01', () => {
  it('keeps values at the same size, scaled to [0, 1]', () => {
    expect(Array.from(resizeBilinear01({ width: 2, height: 1, data: Uint8ClampedArray.from([0, 255]) }, 2, 1))).toEqual([0, 1]);
  });
  it('interpolates between pixel centres: [0, 255] -> 4 px = [0, 0.25, 0.75, 1]', () => {
    // target centres map to source x = -0.25 (clamped 0), 0.25, 0.75, 1.25 (clamped 1)
    const out = Array.from(resizeBilinear01({ width: 2, height: 1, data: Uint8ClampedArray.from([0, 255]) }, 4, 1));
    expect(out.map((v) => Number(v.toFixed(6)))).toEqual([0, 0.25, 0.75, 1]);
  });
  it('averages 2x2 -> 1x1', () => {
    expect(resizeBilinear01({ width: 2, height: 2, data: Uint8ClampedArray.from([0, 255, 255, 0]) }, 1, 1)[0]).toBeCloseTo(0.5, 6);
  });
  it('rejects a bad target size', () => {
    expect(() => resizeBilinear01({ width: 1, height: 1, data: Uint8ClampedArray.from([0]) }, 0, 2)).toThrow('resizeBilinear01: target size must be positive integers, got 0x2');
  });
});

describe('inputGeometry', () => {
  it.each([
    [[1, 32, 48, 1], 128, { layout: 'NHWC', height: 32, width: 48 }],
    [['batch', 64, 64, 1], 128, { layout: 'NHWC', height: 64, width: 64 }],
    [[1, 1, 16, 24], 128, { layout: 'NCHW', height: 16, width: 24 }],
    [['batch', 'h', 'w', 1], 96, { layout: 'NHWC', height: 96, width: 96 }],
    [undefined, 64, { layout: 'NHWC', height: 64, width: 64 }],
  ])('%j (fallback %d) -> %j', (shape, fallback, expected) => {
    expect(inputGeometry(shape as (number | string)[] | undefined, fallback)).toEqual(expected);
  });
});

describe('planes, threshold, maskedUnion', () => {
  it('splits NHWC and NCHW channel planes identically', () => {
    // 1 x 1 x 2 x 2 (NHWC): pixels (c0, c1) = (1,2) (3,4)
    const nhwc = planes([1, 2, 3, 4], [1, 1, 2, 2], 'NHWC', 'x');
    expect(nhwc.planes.map((p) => Array.from(p))).toEqual([
      [1, 3],
      [2, 4],
    ]);
    const nchw = planes([1, 3, 2, 4], [1, 2, 1, 2], 'NCHW', 'x');
    expect(nchw.planes.map((p) => Array.from(p))).toEqual([
      [1, 3],
      [2, 4],
    ]);
  });
  it('rejects a batch other than 1', () => {
    expect(() => planes([0, 0], [2, 1, 1, 1], 'NHWC', "output 'probabilities'")).toThrow("output 'probabilities': expected a batch-1 4-D output, got shape [2, 1, 1, 1]");
  });
  it('thresholds at 0.5 inclusive and unions masked steps', () => {
    expect(Array.from(threshold(Float32Array.from([0.49, 0.5, 0.9]), 3, 1).data)).toEqual([0, 255, 255]);
    expect(Array.from(maskedUnion([Float32Array.from([1, 0, 0]), Float32Array.from([0, 0, 1])], 3, 1).data)).toEqual([255, 0, 255]);
  });
});

describe('scaleIntensity and the metadata fallback size', () => {
  it('maps grey / 255 through the model scaling, clamped to [0, 1]', () => {
    const g = Float32Array.from([0, 51 / 255, 1]);
    expect(Array.from(scaleIntensity(g, 1 / 255, 0))).toEqual(Array.from(g));
    // grey x (1/510) + 0.25: 0 -> 0.25, 51 -> 0.35, 255 -> 0.75
    expect(Array.from(scaleIntensity(g, 1 / 510, 0.25)).map((v) => +v.toFixed(6))).toEqual([0.25, 0.35, 0.75]);
    expect(Array.from(scaleIntensity(g, 1 / 100, -0.2)).map((v) => +v.toFixed(6))).toEqual([0, 0.31, 1]);
    expect(() => scaleIntensity(g, 0, 0)).toThrow(/scaleIntensity: scale must be finite and non-zero/);
  });

  it('takes a symbolic height and width from the fallbacks (the model metadata input size)', () => {
    expect(inputGeometry(['batch', 'h', 'w', 1], 64, 48)).toEqual({ layout: 'NHWC', height: 64, width: 48 });
  });
});
