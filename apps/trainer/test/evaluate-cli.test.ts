/**
 * `mrlseg evaluate`: pairs by name, lists unmatched files, scores images in 2-D and volumes in 3-D
 * with the ground truth's voxel spacing (hand-worked: two 3 x 3 x 3 cubes one 2 mm slice apart),
 * or slice by slice with --per-slice; JSON and CSV outputs.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeGreyPng, writeNifti, type NiftiGeometry } from '@mrlseg/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateCsv, evaluateFolders, evaluateText } from '../src/commands/evaluate';

const root = mkdtempSync(join(tmpdir(), 'mrlseg-evaluate-'));
const p = (...f: string[]) => join(root, ...f);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const dims: [number, number, number] = [5, 5, 6];
const geometry: NiftiGeometry = { dims, pixdim: [1, 1, 1, 2], xyztUnits: 2, qformCode: 0, sformCode: 0, quatern: [0, 0, 0], qoffset: [0, 0, 0], srow: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 2, 0]] };
const cube = (z0: number, label: number) => {
  const v = new Uint8Array(5 * 5 * 6);
  for (let z = z0; z < z0 + 3; z++) for (let y = 1; y <= 3; y++) for (let x = 1; x <= 3; x++) v[x + 5 * (y + 5 * z)] = label;
  return v;
};
const rect = (w: number, h: number, x0: number, y0: number, x1: number, y1: number) => Uint8Array.from({ length: w * h }, (_, i) => (i % w >= x0 && i % w <= x1 && Math.floor(i / w) >= y0 && Math.floor(i / w) <= y1 ? 255 : 0));

beforeAll(async () => {
  mkdirSync(p('pred'));
  mkdirSync(p('gt'));
  await writeNifti(p('pred', 'vol.nii.gz'), geometry, cube(1, 1));
  await writeNifti(p('gt', 'vol.nii'), geometry, cube(2, 2)); // label 2: any non-zero voxel is foreground
  // 2-D: a 4 x 2 block against the same block one pixel to the right -> Dice 2*6/16, HD 1 px.
  writeFileSync(p('pred', 'img.png'), await encodeGreyPng(rect(10, 8, 2, 2, 5, 3), 10, 8));
  writeFileSync(p('gt', 'img.png'), await encodeGreyPng(rect(10, 8, 3, 2, 6, 3), 10, 8));
  writeFileSync(p('pred', 'only-pred.png'), await encodeGreyPng(rect(4, 4, 0, 0, 1, 1), 4, 4));
  await writeNifti(p('gt', 'only-gt.nii.gz'), geometry, cube(0, 1));
  writeFileSync(p('pred', 'notes.txt'), 'ignored');
});

describe('mrlseg evaluate', () => {
  it('scores volumes in 3-D with the voxel spacing and images in 2-D; lists unmatched files', async () => {
    const r = await evaluateFolders({ pred: p('pred'), gt: p('gt') });
    expect(r.rows.map((x) => [x.case, x.kind])).toEqual([
      ['img', 'image'],
      ['vol', 'volume'],
    ]);
    const [img, vol] = r.rows;
    expect(img.dice).toBeCloseTo(12 / 16, 12);
    expect([img.hd, img.hd95]).toEqual([1, 1]);
    expect(vol.dice).toBeCloseTo(2 / 3, 12);
    expect([vol.hd, vol.hd95]).toEqual([2, 2]); // one slice of 2 mm
    expect(vol.spacing).toEqual([1, 1, 2]);
    expect(r.unmatched.pred.map((f) => f.split('/').pop())).toEqual(['only-pred.png']);
    expect(r.unmatched.gt.map((f) => f.split('/').pop())).toEqual(['only-gt.nii.gz']);
    expect(r.summary.dice.mean).toBeCloseTo((12 / 16 + 2 / 3) / 2, 12);
    expect(r.summary.hd).toMatchObject({ mean: 1.5, count: 2, n: 2 });
    const text = evaluateText(r);
    expect(text).toContain('| vol | 0.6667 | 2.000 | 2.000 | mm | 27 | 27 |');
    expect(text).toMatch(/predictions without a ground truth \(1\): .*only-pred\.png/);
    expect(text).toMatch(/ground truths without a prediction \(1\): .*only-gt\.nii\.gz/);
    const csv = evaluateCsv(r).split('\n');
    expect(csv[0]).toBe('case,slice,kind,dice,iou,hd,hd95,assd,nsd,predForeground,gtForeground,dims,spacing,pred,gt');
    expect(csv[2].startsWith('vol,,volume,0.6666666666666666,0.5,2,2,')).toBe(true);
  });

  it('--per-slice scores each slice with foreground (axis 2: in-plane spacing 1 x 1)', async () => {
    const r = await evaluateFolders({ pred: p('pred'), gt: p('gt'), perSlice: true, axis: 2 });
    const vol = r.rows.filter((x) => x.case === 'vol');
    // pred z = 1..3, gt z = 2..4: slice 1 pred only, 2 and 3 identical, 4 gt only.
    expect(vol.map((x) => [x.slice, x.dice, x.hd])).toEqual([
      [1, 0, null],
      [2, 1, 0],
      [3, 1, 0],
      [4, 0, null],
    ]);
  });

  it('--label picks one label; mismatched sizes are reported, not fatal; no pair at all is an error', async () => {
    const r = await evaluateFolders({ pred: p('pred'), gt: p('gt'), label: 2 });
    expect(r.rows.find((x) => x.case === 'vol')).toMatchObject({ dice: 0, predForeground: 0, gtForeground: 27 });
    mkdirSync(p('pred2'));
    writeFileSync(p('pred2', 'img.png'), await encodeGreyPng(rect(4, 4, 0, 0, 1, 1), 4, 4));
    const bad = await evaluateFolders({ pred: p('pred2'), gt: p('gt') });
    expect(bad.failed).toEqual([{ case: 'img', error: 'prediction is 4x4, ground truth 10x8' }]);
    mkdirSync(p('none'));
    await expect(evaluateFolders({ pred: p('none'), gt: p('gt') })).rejects.toThrow(/no file of --pred '.*none' has a ground truth of the same name/);
    await expect(evaluateFolders({ pred: p('missing'), gt: p('gt') })).rejects.toThrow(/--pred '.*missing' cannot be listed/);
  });
});
