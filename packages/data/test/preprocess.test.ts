import { describe, expect, it } from 'vitest';
import { AugmentationSchema, PreprocessingSchema } from '@mrlseg/types';
import { applyCtWindow, augmentSample, flip, makeRng, preprocessSlice, preprocessingHash, resizeBilinear, resizeNearest, rot90 } from '../src/index';

describe('applyCtWindow (clip HU to [min, max], rescale to [0, 255])', () => {
  it.each([
    [-1000, 0],
    [-79, 0],
    [0, (79 * 255) / 383],
    [112.5, 127.5],
    [304, 255],
    [2000, 255],
  ])('HU %d -> %d', (hu, want) => {
    expect(applyCtWindow(Float32Array.of(hu), -79, 304)[0]).toBeCloseTo(want, 4);
  });
  it('rejects max <= min', () => {
    expect(() => applyCtWindow(new Float32Array(1), 5, 5)).toThrow(/applyCtWindow: max must exceed min/);
  });
});

describe('resize', () => {
  it('bilinear 2x2 -> 4x4 with half-pixel centres (hand-worked)', () => {
    const out = resizeBilinear(Float32Array.of(0, 4, 8, 12), 2, 2, 4, 4);
    // output x=1 samples source x = (1.5)*0.5-0.5 = 0.25 -> 0*0.75 + 4*0.25 = 1
    expect(Array.from(out.slice(0, 4))).toEqual([0, 1, 3, 4]);
    expect(Array.from(out.slice(12, 16))).toEqual([8, 9, 11, 12]);
    expect(out[5]).toBeCloseTo(0.75 * 1 + 0.25 * 9, 6); // row y=1 samples source y=0.25
  });
  it('nearest keeps labels binary and picks the nearest centre', () => {
    expect(Array.from(resizeNearest(Uint8Array.of(1, 0, 0, 1), 2, 2, 4, 4))).toEqual([1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1]);
    expect(Array.from(resizeNearest(Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0, 1), 3, 3, 2, 2))).toEqual([1, 0, 0, 1]);
  });
  it('names the function and the bad argument', () => {
    expect(() => resizeBilinear(new Float32Array(3), 2, 2, 4, 4)).toThrow(/resizeBilinear: data has 3 values, expected width\*height = 2\*2/);
    expect(() => resizeNearest(new Uint8Array(4), 2, 2, 0, 4)).toThrow(/resizeNearest: output size must be positive/);
  });
});

describe('preprocessSlice', () => {
  const cfg = PreprocessingSchema.parse({ size: 16 });
  it('8-bit slices: no CT window (auto), resize, scale to [0, 1], recorded', () => {
    const r = preprocessSlice({ image: new Float32Array(64).fill(51), mask: new Uint8Array(64).fill(1), width: 8, height: 8, hu: false, rgbToGrey: true }, cfg);
    expect(r.record).toEqual({ rgbToGrey: true, scaledTo01: true, augmentation: [], configHash: preprocessingHash(cfg), resizedTo: [16, 16] });
    expect(r.image[0]).toBeCloseTo(0.2, 6);
    expect(r.mask.every((v) => v === 1)).toBe(true);
  });
  it('HU slices: window on under auto; values clipped into [0, 1]', () => {
    const img = Float32Array.from({ length: 256 }, (_, i) => (i % 2 ? 304 + 100 : -79 - 100));
    const r = preprocessSlice({ image: img, mask: new Uint8Array(256), width: 16, height: 16, hu: true, rgbToGrey: false }, cfg);
    expect(r.record.ctWindow).toEqual([-79, 304]);
    expect(r.record.resizedTo).toBeUndefined();
    expect([r.image[0], r.image[1]]).toEqual([0, 1]);
  });
  it('the cache hash changes with the size and the window, not with augmentation', () => {
    const a = preprocessingHash(cfg);
    expect(preprocessingHash({ ...cfg, size: 32 })).not.toBe(a);
    expect(preprocessingHash({ ...cfg, ctWindow: { mode: 'on', min: -100, max: 200 } })).not.toBe(a);
    expect(preprocessingHash({ ...cfg, augmentation: { ...cfg.augmentation, flip: false } })).toBe(a);
  });
});

describe('augmentation', () => {
  const a = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9);
  it('flip and rot90 on a 3x3 grid (hand-worked)', () => {
    expect(Array.from(flip(a, 3, 'x'))).toEqual([3, 2, 1, 6, 5, 4, 9, 8, 7]);
    expect(Array.from(flip(a, 3, 'y'))).toEqual([7, 8, 9, 4, 5, 6, 1, 2, 3]);
    expect(Array.from(rot90(a, 3, 1))).toEqual([3, 6, 9, 2, 5, 8, 1, 4, 7]);
    expect(Array.from(rot90(a, 3, 4))).toEqual(Array.from(a));
  });
  it('is deterministic by seed, keeps masks binary and names each step', () => {
    const img = Float32Array.from({ length: 256 }, (_, i) => (i % 16) / 16);
    const mask = Uint8Array.from({ length: 256 }, (_, i) => (i % 16 < 5 ? 1 : 0));
    const cfg = AugmentationSchema.parse({ rotateDegrees: 10, intensityJitter: 0.1 });
    const r1 = augmentSample(img, mask, 16, cfg, makeRng(7));
    const r2 = augmentSample(img, mask, 16, cfg, makeRng(7));
    expect(r1).toEqual(r2);
    expect(r1.mask.every((v) => v === 0 || v === 1)).toBe(true);
    expect(r1.steps.some((s) => s.startsWith('rotate('))).toBe(true);
    expect(r1.steps.some((s) => s.startsWith('jitter('))).toBe(true);
    expect(Math.min(...r1.image)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...r1.image)).toBeLessThanOrEqual(1);
    const off = augmentSample(img, mask, 16, { ...cfg, enabled: false }, makeRng(7));
    expect(off.steps).toEqual([]);
    expect(off.image).toEqual(img);
  });
});
