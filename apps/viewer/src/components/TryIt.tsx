import type { RunRecord } from '@mrlseg/types';
import { useEffect, useRef, useState } from 'react';
import { type BrowserModel, type BrowserSegmentation } from '../lib/onnx';
import { composeOverlay, representedImage, type GreyImage } from '../lib/overlay';
import { decodeToGrey, greyToRgba, paint } from '../lib/png';
import { variantLabel } from '../lib/tables';
import { useApi } from './context';
import { ErrorBox, Loading } from './Status';

type Phase = { kind: 'idle' } | { kind: 'busy'; what: string } | { kind: 'error'; error: Error } | { kind: 'done'; result: BrowserSegmentation; file: string; loadMs: number | null };

const sizeOf = (run: RunRecord) => {
  const s = (run.config as { preprocessing?: { size?: unknown } } | undefined)?.preprocessing?.size;
  return typeof s === 'number' && s > 0 ? s : 128;
};

const OFF = { visible: false, opacity: 0 };

const countOn = (img: GreyImage) => {
  let n = 0;
  for (let i = 0; i < img.data.length; i++) if (img.data[i]) n++;
  return n;
};

/**
 * Try it: segment an uploaded image in the browser with the run's ONNX model (onnxruntime-web),
 * showing the mask and, for RL models, the action mask. Nothing is sent to the server; only the
 * model is downloaded (once per run).
 */
export function TryIt({ run }: { run: RunRecord }) {
  const api = useApi();
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' });
  const model = useRef<{ runId: string; model: BrowserModel } | null>(null);

  useEffect(() => {
    setPhase({ kind: 'idle' });
  }, [run.id]);

  const onFile = async (file: File) => {
    try {
      setPhase({ kind: 'busy', what: 'the image' });
      const img = await decodeToGrey(file, file.name);
      let loadMs: number | null = null;
      if (!model.current || model.current.runId !== run.id) {
        setPhase({ kind: 'busy', what: 'the ONNX model' });
        const bytes = await api.bytes(api.modelUrl(run.id));
        if (!bytes) throw new Error(`run ${run.id} has no ONNX model (export it with the trainer, then reload)`);
        const { loadModel } = await import('../lib/onnx');
        if (model.current) await model.current.model.session.release();
        model.current = { runId: run.id, model: await loadModel(bytes, sizeOf(run)) };
        loadMs = model.current.model.loadMs;
      }
      setPhase({ kind: 'busy', what: 'the segmentation (in this browser)' });
      const { segmentInBrowser } = await import('../lib/onnx');
      const result = await segmentInBrowser(model.current.model, img);
      setPhase({ kind: 'done', result, file: file.name, loadMs });
    } catch (err) {
      setPhase({ kind: 'error', error: err instanceof Error ? err : new Error(String(err)) });
    }
  };

  return (
    <section className="try-it">
      <h2>Try it</h2>
      <p>
        Segment your own image with the model of <strong>{variantLabel(run.variant)}</strong> (run <code>{run.id}</code>) right here in the browser with onnxruntime-web; the image never leaves
        this machine. Grey or RGB PNG/JPEG; it is converted to grey and resized to the model input.
      </p>
      {run.onnxPath === null && <p className="warn">This run records no ONNX export; the model download may fail.</p>}
      <label className="upload">
        Image file{' '}
        <input
          type="file"
          accept="image/png,image/jpeg"
          aria-label="image to segment"
          disabled={phase.kind === 'busy'}
          onChange={(e) => {
            const f = e.target.files?.[0];
            if (f) void onFile(f);
            e.target.value = '';
          }}
        />
      </label>
      {phase.kind === 'busy' && <Loading what={phase.what} />}
      {phase.kind === 'error' && <ErrorBox error={phase.error} what="a segmentation" />}
      {phase.kind === 'done' && <TryResult result={phase.result} file={phase.file} loadMs={phase.loadMs} />}
    </section>
  );
}

function Canvas({ rgba, img, testId, label }: { rgba: Uint8ClampedArray; img: GreyImage; testId: string; label: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (ref.current) paint(ref.current, rgba, img.width, img.height);
  }, [rgba, img]);
  return (
    <figure>
      <canvas ref={ref} className="case-canvas" data-testid={testId} aria-label={label} />
      <figcaption>{label}</figcaption>
    </figure>
  );
}

function TryResult({ result, file, loadMs }: { result: BrowserSegmentation; file: string; loadMs: number | null }) {
  const { input, mask, actions } = result;
  const overlay = composeOverlay(input, mask, null, actions, {
    prediction: { visible: true, opacity: 0.6 },
    groundTruth: OFF,
    overlap: OFF,
    actions: { visible: false, opacity: 0 },
    level: 127.5,
    window: 255,
  }).rgba;
  const maskRgba = greyToRgba(mask);
  const total = mask.width * mask.height;
  return (
    <div className="try-result" data-testid="try-result" data-foreground={result.foregroundPixels} data-masked={actions ? countOn(actions) : undefined}>
      <p>
        <strong>{file}</strong>: {result.foregroundPixels} of {total} pixels foreground ({((100 * result.foregroundPixels) / total).toFixed(2)}%), model input {input.width}×{input.height},
        inference {result.inferenceMs.toFixed(0)} ms in this browser{loadMs !== null && ` (model loaded in ${loadMs.toFixed(0)} ms)`}.
        {actions && ` The agent masked ${countOn(actions)} pixels.`}
      </p>
      <div className="canvases">
        <Canvas rgba={greyToRgba(input)} img={input} testId="try-input" label="input (model size)" />
        <Canvas rgba={overlay} img={input} testId="try-overlay" label="prediction (red)" />
        <Canvas rgba={maskRgba} img={mask} testId="try-mask" label="mask (white = foreground)" />
        {actions && <Canvas rgba={representedImage(input, actions, 127.5, 255)} img={input} testId="try-actions" label="represented image: masked pixels black (Fig. 9)" />}
      </div>
    </div>
  );
}
