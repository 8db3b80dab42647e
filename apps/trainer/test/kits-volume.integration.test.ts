/**
 * Integration over real data: KiTS19 label volumes from ../shared/data (one with only a qform, one
 * with only an sform) become intensity volumes with their geometry (HU = 150 x label - 50), a tiny
 * Segmentation-Net is trained briefly on kits19-slices (the `mrlseg train` action, exported to
 * ONNX with its metadata), `mrlseg predict` segments the folder of volumes in one call, and
 * nibabel (Debian's python3-nibabel under /usr/bin/python3) must report for every output the shape
 * and the affine (to 1e-6) of its input and of the original label volume, with uint8 voxels.
 * Skips with one line when the shared data or nibabel are absent.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readNiftiInfo, readVolume, writeNifti } from '@mrlseg/data';
import { onnxModelInfo } from '@mrlseg/models';
import { afterAll, describe, expect, it } from 'vitest';
import { trainAction } from '../src/commands/train';
import { predictCommand } from '../src/commands/predict';

const DATA = process.env.MRLSEG_SHARED_DATA ?? resolve(import.meta.dirname, '..', '..', '..', '..', 'shared', 'data');
const LABELS = join(DATA, 'kits19-nifti-labels');
const SLICES = join(DATA, 'kits19-slices');
const CASES = ['case_00015', 'case_00061'];
const haveData = existsSync(SLICES) && CASES.every((c) => existsSync(join(LABELS, c, 'segmentation.nii.gz')));
const haveNibabel = spawnSync('/usr/bin/python3', ['-c', 'import nibabel'], { stdio: 'ignore' }).status === 0;
const skip = !haveData
  ? `${LABELS} or ${SLICES} not found (set MRLSEG_SHARED_DATA)`
  : !haveNibabel
    ? '/usr/bin/python3 cannot import nibabel (apt-get install python3-nibabel)'
    : null;
if (skip) console.warn(`[trainer] skipping the KiTS19 volume prediction check: ${skip}`);

const root = mkdtempSync(join(tmpdir(), 'mrlseg-kits-volume-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const NIBABEL = `
import json, sys, nibabel as nib, numpy as np
out = {}
for f in sys.argv[1:]:
    img = nib.load(f)
    out[f] = {"shape": list(img.shape), "affine": np.asarray(img.affine, dtype=float).tolist(), "dtype": str(img.get_data_dtype())}
print(json.dumps(out))
`;

describe.runIf(!skip)('predicting KiTS19 volumes with a model trained on kits19-slices', () => {
  it('writes uint8 label volumes that nibabel reads with the input shape and affine (1e-6)', async () => {
    // The intensity inputs: each label volume's geometry, HU = 150 label - 50 (float32).
    const inputs = join(root, 'inputs');
    mkdirSync(inputs);
    for (const c of CASES) {
      const info = await readNiftiInfo(join(LABELS, c, 'segmentation.nii.gz'));
      const hu = await readVolume(info);
      for (let i = 0; i < hu.length; i++) hu[i] = 150 * hu[i] - 50;
      await writeNifti(join(inputs, `${c}.nii.gz`), info.geometry, hu);
    }
    // A brief training run on the 2-D KiTS19 slices (32 px, a tiny network, 2 epochs).
    const config = join(root, 'tiny.json');
    writeFileSync(
      config,
      JSON.stringify({
        name: 'kits-tiny',
        variant: 'onlyseg',
        preprocessing: { size: 32, augmentation: { enabled: false } },
        model: { preset: 'custom', segNet: { channels: [4, 8, 8, 16], hidden: 16, layers: 1, heads: 2, mlp: 32, decoderChannels: [8, 8, 4, 4] } },
        training: { epochs: 2, rlEpochs: 0, batchSize: 4, rlBatchSize: 4, lr: 0.003 },
        seed: 1,
      }),
    );
    const onnx = join(root, 'kits.onnx');
    await trainAction({ config, dataset: SLICES, format: 'kits19-slices', folds: 0, store: join(root, 'store'), exportOnnx: onnx, backend: 'wasm', pngs: false }, {});
    expect(onnxModelInfo(readFileSync(onnx)).metadata).toMatchObject({ 'mrlseg.slice_axis': '0', 'mrlseg.ct_window': '-79,304', 'mrlseg.input_size': '32x32', 'mrlseg.variant': 'onlyseg' });

    const s = await predictCommand({ model: onnx, input: inputs, out: join(root, 'predictions') });
    expect(s.cases.map((c) => [c.name, c.status])).toEqual(CASES.map((c) => [c, 'done']));
    expect(s.metadata.present).toBe(true);

    const files = CASES.flatMap((c) => [join(LABELS, c, 'segmentation.nii.gz'), join(inputs, `${c}.nii.gz`), join(root, 'predictions', `${c}.nii.gz`)]);
    const nib = JSON.parse(execFileSync('/usr/bin/python3', ['-c', NIBABEL, ...files], { encoding: 'utf8' })) as Record<string, { shape: number[]; affine: number[][]; dtype: string }>;
    for (const c of CASES) {
      const [label, input, pred] = [join(LABELS, c, 'segmentation.nii.gz'), join(inputs, `${c}.nii.gz`), join(root, 'predictions', `${c}.nii.gz`)].map((f) => nib[f]);
      expect(pred.dtype).toBe('uint8');
      expect(pred.shape).toEqual(input.shape);
      expect(input.shape).toEqual(label.shape);
      for (const ref of [input, label]) pred.affine.forEach((row, r) => row.forEach((v, k) => expect(Math.abs(v - ref.affine[r][k]), `${c} affine[${r}][${k}]`).toBeLessThanOrEqual(1e-6)));
    }
  }, 300_000);
});
