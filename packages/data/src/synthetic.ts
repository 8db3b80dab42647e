/**
 * The bundled default dataset: CT-like 2-D slices generated from a seed. Each synthetic patient
 * has a body ellipse, an organ ellipse with texture, a spine, noise, and one lesion that is
 * brighter or darker than the organ around it; the lesion's foreground/background ratio
 * (fbRatio) is drawn per patient between about 0.01 % and 10 % and varies smoothly over the
 * patient's slices (a lesion cut at different heights). Values are 8-bit grey levels, like the
 * exported CT slices, so no CT window applies. Slice `i` depends only on (seed, i, size,
 * slicesPerPatient): any slice can be generated alone, lazily.
 *
 * Known-answer distractors (issue 15): with `distractors > 0` each slice also holds that many
 * lesion-like blobs in the body but outside the organ (the patient's lesion intensity, ringed by a
 * halo of organ-like tissue, so a briefly trained Segmentation-Net mistakes them for lesions). They
 * are not labelled: their pixels are returned in `distractor` for evaluation only (what the agent
 * should mask), never as an input or a reward.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeGreyPng } from './image-io';
import { countForeground, fbRatioOf } from './fb-ratio';
import type { RawSlice, SampleRef } from './types';
import { makeRng, mixSeed } from './util';

export interface SyntheticOptions {
  /** Number of 2-D slices. */
  count: number;
  /** Slices per synthetic patient (the last patient may have fewer). */
  slicesPerPatient: number;
  /** Square side in pixels. */
  size: number;
  seed: number;
  /** Lesion-like distractor blobs per slice, outside the organ (default 0: none). */
  distractors?: number;
}

/** fbRatio range of the generated lesions (fractions): 0.01 % .. 10 %. */
export const SYNTHETIC_FB_RANGE = [1e-4, 0.1] as const;

function checkOptions(o: SyntheticOptions, fn: string): void {
  for (const k of ['count', 'slicesPerPatient', 'size'] as const) {
    if (!Number.isInteger(o[k]) || o[k] <= 0) throw new Error(`${fn}: ${k} must be a positive integer, got ${o[k]}`);
  }
  if (o.size < 16) throw new Error(`${fn}: size must be at least 16, got ${o.size}`);
  if (!Number.isInteger(o.seed)) throw new Error(`${fn}: seed must be an integer, got ${o.seed}`);
  if (o.distractors !== undefined && (!Number.isInteger(o.distractors) || o.distractors < 0 || o.distractors > 8)) {
    throw new Error(`${fn}: distractors must be an integer in [0, 8], got ${o.distractors}`);
  }
}

/** One distractor: centre (px), semi-axes (px) of the lesion-like core, halo width (px). */
interface Distractor {
  cx: number;
  cy: number;
  a: number;
  b: number;
  halo: number;
}

/**
 * Distractor blobs of one slice, from the slice's own random stream: centres inside the body,
 * outside the organ ellipse (with the blob and its halo clear of it) and clear of the spine;
 * core area like a lesion of fbRatio 0.4-3 % (at least a 2 px radius).
 */
function distractorsOf(a: Anatomy, seed: number, patient: number, slice: number, size: number, count: number, organHalf: number): Distractor[] {
  const r = makeRng(mixSeed(seed, patient, slice, 0xd157));
  const out: Distractor[] = [];
  const ca = Math.cos(a.organAngle);
  const sa = Math.sin(a.organAngle);
  const spineCx = a.bodyCx;
  const spineCy = a.bodyCy + a.bodyB * 0.62;
  for (let tries = 0; out.length < count && tries < 200; tries++) {
    const fb = 0.01 + r() * 0.03;
    const rad = Math.max(2, Math.sqrt((fb * size * size) / Math.PI));
    const aspect = 0.75 + 0.5 * r();
    const da = rad * Math.sqrt(aspect);
    const db = rad / Math.sqrt(aspect);
    // The halo: organ-like tissue about half the organ's size around the core (a second organ with a lesion-like blob).
    const halo = Math.max(2, 0.75 * Math.min(a.organA, a.organB) - rad);
    const ext = Math.max(da, db) + halo + 1;
    const cx = a.bodyCx + (2 * r() - 1) * a.bodyA;
    const cy = a.bodyCy + (2 * r() - 1) * a.bodyB;
    // inside the body with the whole blob
    const bx = (Math.abs(cx - a.bodyCx) + ext) / a.bodyA;
    const by = (Math.abs(cy - a.bodyCy) + ext) / a.bodyB;
    if (bx * bx + by * by > 1) continue;
    // clear of the organ: the blob's bounding circle outside the organ ellipse grown by ext
    const ox = cx - a.organCx;
    const oy = cy - a.organCy;
    const u = (ox * ca + oy * sa) / (a.organA * organHalf + ext);
    const w = (-ox * sa + oy * ca) / (a.organB * organHalf + ext);
    if (u * u + w * w <= 1) continue;
    if (Math.hypot(cx - spineCx, cy - spineCy) < size * 0.06 + ext) continue;
    if (out.some((d) => Math.hypot(d.cx - cx, d.cy - cy) < Math.max(d.a, d.b) + d.halo + ext)) continue;
    out.push({ cx, cy, a: da, b: db, halo });
  }
  return out;
}

interface Anatomy {
  bodyA: number; bodyB: number; bodyCx: number; bodyCy: number;
  organA: number; organB: number; organCx: number; organCy: number; organAngle: number;
  lesionArea: number; lesionAspect: number; lesionDx: number; lesionDy: number; lesionContrast: number;
  tex: { fx: number; fy: number; phase: number; amp: number }[];
}

/** Per-patient anatomy, drawn from the patient's own random stream. */
function anatomy(seed: number, patient: number, size: number): Anatomy {
  const r = makeRng(mixSeed(seed, patient, 0x5eed));
  // Target lesion fbRatio: half log-uniform over [0.01 %, 2 %], half uniform over [2 %, 10 %],
  // so every CT interval of the paper's tables (0-2, ..., 8-10 %) is populated.
  const fb = r() < 0.5 ? Math.exp(Math.log(1e-4) + r() * (Math.log(0.02) - Math.log(1e-4))) : 0.02 + r() * 0.08;
  const n = size * size;
  const lesionArea = (fb / (1 + fb)) * n;
  const lesionR = Math.sqrt(lesionArea / Math.PI);
  const organScale = Math.max(0.13 * size, 1.25 * lesionR / 0.9);
  const aspect = 0.75 + 0.5 * r();
  return {
    bodyA: size * (0.4 + 0.05 * r()), bodyB: size * (0.3 + 0.05 * r()), bodyCx: size * (0.5 + 0.02 * (r() - 0.5)), bodyCy: size * (0.5 + 0.02 * (r() - 0.5)),
    organA: organScale * (1 + 0.2 * r()), organB: organScale * (0.85 + 0.15 * r()),
    organCx: size * (0.5 + (r() < 0.5 ? -1 : 1) * (0.08 + 0.06 * r())), organCy: size * (0.45 + 0.1 * r()), organAngle: r() * Math.PI,
    lesionArea, lesionAspect: aspect, lesionDx: (r() - 0.5) * 0.3, lesionDy: (r() - 0.5) * 0.3,
    lesionContrast: (r() < 0.5 ? -1 : 1) * (45 + 25 * r()),
    tex: Array.from({ length: 3 }, () => ({ fx: (2 + 6 * r()) / size, fy: (2 + 6 * r()) / size, phase: r() * 2 * Math.PI, amp: 4 + 6 * r() })),
  };
}

/** 4096 standard-normal values (Box-Muller from a fixed seed): per-pixel noise is one table lookup. */
const NORMAL_TABLE = (() => {
  const r = makeRng(0x6a05);
  const t = new Float32Array(4096);
  for (let i = 0; i < t.length; i += 2) {
    const u = Math.max(r(), 1e-12);
    const v = r();
    const m = Math.sqrt(-2 * Math.log(u));
    t[i] = m * Math.cos(2 * Math.PI * v);
    t[i + 1] = m * Math.sin(2 * Math.PI * v);
  }
  return t;
})();

/**
 * Generates slice `index` (0-based) of the synthetic dataset.
 * @returns the slice (8-bit grey values as Float32, binary lesion mask) and its patient/slice ids.
 */
export function generateSyntheticSlice(opts: SyntheticOptions, index: number): RawSlice & { patient: number; slice: number; distractor?: Uint8Array } {
  checkOptions(opts, 'generateSyntheticSlice');
  if (!Number.isInteger(index) || index < 0 || index >= opts.count) {
    throw new Error(`generateSyntheticSlice: index must be an integer in [0, ${opts.count}), got ${index}`);
  }
  const { size, seed, slicesPerPatient } = opts;
  const patient = Math.floor(index / slicesPerPatient);
  const slice = index % slicesPerPatient;
  const a = anatomy(seed, patient, size);
  // Noise: a xorshift32 stream seeded per slice picks entries of NORMAL_TABLE.
  let xs = mixSeed(seed, patient, slice, 0x51ce) | 1;
  const noise = () => {
    xs ^= xs << 13;
    xs ^= xs >>> 17;
    xs ^= xs << 5;
    return NORMAL_TABLE[(xs >>> 0) & 4095];
  };
  // Position of this slice through the lesion, in (-1, 1); area follows a sphere's cross-section.
  const t = slicesPerPatient === 1 ? 0 : (2 * (slice + 0.5)) / slicesPerPatient - 1;
  const area = a.lesionArea * (0.35 + 0.65 * (1 - t * t));
  const la = Math.sqrt((area / Math.PI) * a.lesionAspect);
  const lb = Math.sqrt(area / Math.PI / a.lesionAspect);
  const ca = Math.cos(a.organAngle);
  const sa = Math.sin(a.organAngle);
  const lcx = a.organCx + a.lesionDx * a.organA * (1 - la / a.organA);
  const lcy = a.organCy + a.lesionDy * a.organB * (1 - lb / a.organB);
  const organHalf = 1 + 0.04 * t; // organ size drifts a little through the slices
  const image = new Float32Array(size * size);
  const mask = new Uint8Array(size * size);
  // Organ texture: sum of separable products amp * sin(x term) * cos(y term), tabulated per row/column.
  const nt = a.tex.length;
  const texX = new Float32Array(nt * size);
  const texY = new Float32Array(nt * size);
  a.tex.forEach((k, q) => {
    for (let c = 0; c < size; c++) {
      texX[q * size + c] = k.amp * Math.sin(k.fx * (c + 0.5) * 2 * Math.PI + k.phase);
      texY[q * size + c] = Math.cos(k.fy * (c + 0.5) * 2 * Math.PI - k.phase);
    }
  });
  const spineCx = a.bodyCx;
  const spineCy = a.bodyCy + a.bodyB * 0.62;
  const spineR2 = (size * 0.06) ** 2;
  const blobs = opts.distractors ? distractorsOf(a, seed, patient, slice, size, opts.distractors, organHalf) : [];
  const distractor = opts.distractors ? new Uint8Array(size * size) : undefined;
  for (let y = 0; y < size; y++) {
    const py = y + 0.5;
    for (let x = 0; x < size; x++) {
      const px = x + 0.5;
      const i = y * size + x;
      let v: number;
      const bx = (px - a.bodyCx) / a.bodyA;
      const by = (py - a.bodyCy) / a.bodyB;
      if (bx * bx + by * by > 1) {
        v = 8 + 3 * noise(); // air
      } else {
        v = 95;
        const ox = px - a.organCx;
        const oy = py - a.organCy;
        const u = (ox * ca + oy * sa) / (a.organA * organHalf);
        const w = (-ox * sa + oy * ca) / (a.organB * organHalf);
        if (u * u + w * w <= 1) {
          v = 150;
          for (let q = 0; q < nt; q++) v += texX[q * size + x] * texY[q * size + y];
          const lx = (px - lcx) * ca + (py - lcy) * sa;
          const ly = -(px - lcx) * sa + (py - lcy) * ca;
          if ((lx * lx) / (la * la) + (ly * ly) / (lb * lb) <= 1) {
            v += a.lesionContrast;
            mask[i] = 1;
          }
        } else if ((px - spineCx) ** 2 + (py - spineCy) ** 2 <= spineR2) {
          v = 225;
        } else {
          for (const d of blobs) {
            const dx = px - d.cx;
            const dy = py - d.cy;
            const core = (dx * dx) / (d.a * d.a) + (dy * dy) / (d.b * d.b);
            const ring = (dx * dx) / ((d.a + d.halo) * (d.a + d.halo)) + (dy * dy) / ((d.b + d.halo) * (d.b + d.halo));
            if (core <= 1) {
              v = 150 + 1.3 * a.lesionContrast;
              distractor![i] = 1;
            } else if (ring <= 1) {
              v = 150; // organ-like tissue, without the organ's texture (the only local cue)
            }
          }
        }
        v += 6 * noise();
      }
      image[i] = Math.min(255, Math.max(0, Math.round(v)));
    }
  }
  // The smallest lesions must still exist: at least one pixel at the lesion centre.
  if (countForeground(mask) === 0) {
    const c = Math.min(size - 1, Math.max(0, Math.floor(lcy))) * size + Math.min(size - 1, Math.max(0, Math.floor(lcx)));
    mask[c] = 1;
    image[c] = Math.min(255, Math.max(0, Math.round(150 + a.lesionContrast)));
  }
  return { image, mask, width: size, height: size, hu: false, rgbToGrey: false, patient, slice, ...(distractor ? { distractor } : {}) };
}

/** Sample id of synthetic slice (patient, slice): `synth_p0003_02` (the folder loader reads patient `synth_p0003`, slice 2 back from it). */
export const syntheticId = (patient: number, slice: number) => `synth_p${String(patient).padStart(4, '0')}_${String(slice).padStart(2, '0')}`;

/** Metadata of synthetic slice `index` (generates the slice to count its lesion pixels). */
export function syntheticRef(opts: SyntheticOptions, index: number): SampleRef {
  const s = generateSyntheticSlice(opts, index);
  const fg = countForeground(s.mask);
  return {
    id: syntheticId(s.patient, s.slice),
    patient: `synth_p${String(s.patient).padStart(4, '0')}`,
    slice: s.slice,
    format: 'synthetic',
    source: { mask: [] },
    width: s.width,
    height: s.height,
    foregroundPixels: fg,
    fbRatio: fbRatioOf(fg, s.width * s.height),
    locator: { index, size: opts.size, seed: opts.seed, slicesPerPatient: opts.slicesPerPatient, count: opts.count, ...(opts.distractors ? { distractors: opts.distractors } : {}) },
  };
}

/** Generates every slice of the synthetic dataset in memory (small datasets, tests, the demo). */
export function generateSynthetic(opts: SyntheticOptions): { ref: SampleRef; slice: RawSlice }[] {
  checkOptions(opts, 'generateSynthetic');
  return Array.from({ length: opts.count }, (_, i) => {
    const slice = generateSyntheticSlice(opts, i);
    const fg = countForeground(slice.mask);
    const ref: SampleRef = {
      id: syntheticId(slice.patient, slice.slice),
      patient: `synth_p${String(slice.patient).padStart(4, '0')}`,
      slice: slice.slice,
      format: 'synthetic',
      source: { mask: [] },
      width: slice.width,
      height: slice.height,
      foregroundPixels: fg,
      fbRatio: fbRatioOf(fg, slice.width * slice.height),
      locator: { index: i, size: opts.size, seed: opts.seed, slicesPerPatient: opts.slicesPerPatient, count: opts.count, ...(opts.distractors ? { distractors: opts.distractors } : {}) },
    };
    return { ref, slice };
  });
}

/**
 * Writes the synthetic dataset as a `folder`-layout dataset: `images/<id>.png` (8-bit grey),
 * `masks/<id>.png` (0/255) and `synthetic.json` (the generator options), readable with format
 * `synthetic` or `folder`.
 */
export async function writeSyntheticDataset(dir: string, opts: SyntheticOptions, onProgress?: (done: number, total: number) => void): Promise<{ count: number; dir: string }> {
  checkOptions(opts, 'writeSyntheticDataset');
  await mkdir(join(dir, 'images'), { recursive: true });
  await mkdir(join(dir, 'masks'), { recursive: true });
  for (let i = 0; i < opts.count; i++) {
    const s = generateSyntheticSlice(opts, i);
    const id = syntheticId(s.patient, s.slice);
    const img = Uint8Array.from(s.image);
    await writeFile(join(dir, 'images', `${id}.png`), await encodeGreyPng(img, s.width, s.height));
    await writeFile(join(dir, 'masks', `${id}.png`), await encodeGreyPng(s.mask, s.width, s.height, { binary: true }));
    onProgress?.(i + 1, opts.count);
  }
  await writeFile(join(dir, 'synthetic.json'), `${JSON.stringify({ generator: 'mrlseg-synthetic', version: 1, ...opts }, null, 2)}\n`);
  return { count: opts.count, dir };
}
