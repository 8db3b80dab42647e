import type { CaseMetricRecord, RunRecord } from '@mrlseg/types';
import { useEffect, useMemo, useRef, useState } from 'react';
import { Loading } from './Status';
import { composeOverlay, LAYER_COLOURS, representedImage, type GreyImage, type LayerStyle, type OverlayOptions } from '../lib/overlay';
import { decodeToGrey, paint } from '../lib/png';
import { useAsync } from '../lib/use-async';
import { ablationFlags } from '../lib/tables';
import { useApi } from './context';
import { Async, fmt } from './Status';

type LayerKey = 'prediction' | 'groundTruth' | 'overlap' | 'actions';
const LAYER_NAMES: Record<LayerKey, string> = { prediction: 'Prediction', groundTruth: 'Ground truth', overlap: 'Overlap', actions: 'RL action mask (masked)' };

interface CaseImages {
  image: GreyImage;
  prediction: GreyImage | null;
  groundTruth: GreyImage | null;
  actions: GreyImage | null;
}

/** The HU window the served image was scaled from, when the run windowed CT ([min, max] -> [0, 255]). */
export function ctWindowOf(run: RunRecord | undefined): { min: number; max: number } | null {
  const cfg = run?.config as { dataset?: { format?: string }; preprocessing?: { ctWindow?: { mode?: string; min?: number; max?: number } } } | undefined;
  const w = cfg?.preprocessing?.ctWindow;
  const fmt = cfg?.dataset?.format;
  if (!w || w.mode === 'off' || typeof w.min !== 'number' || typeof w.max !== 'number') return null;
  if (w.mode === 'auto' && fmt !== 'kits19' && fmt !== 'pancreas-ct') return null;
  return { min: w.min, max: w.max };
}

const rgb = (c: readonly number[]) => `rgb(${c.join(',')})`;
const pct = (v: number) => `${(v * 100).toFixed(2)}%`;

/**
 * One case as in Figs. 5-8: image with prediction (red), ground truth (green) and overlap (yellow),
 * the RL action mask (Fig. 9), per-layer toggles and opacity, window/level.
 */
export function CaseViewer({ run, record, onPrev, onNext, position }: { run: RunRecord; record: CaseMetricRecord; onPrev?: () => void; onNext?: () => void; position?: string }) {
  const api = useApi();
  // Layer and window settings live here, so they persist while stepping through cases.
  const view = useState<ViewSettings>(DEFAULT_VIEW);
  const state = useAsync<CaseImages>(
    async (signal) => {
      const get = async (kind: 'image' | 'prediction' | 'groundTruth' | 'actions') => {
        const bytes = await api.bytes(api.caseImageUrl(run.id, record.caseId, kind), signal);
        return bytes ? decodeToGrey(bytes, `${kind}.png of ${record.caseId}`) : null;
      };
      // Runs without an agent (OnlySeg, baselines) store no action mask: not asked for, no 404.
      const [image, prediction, groundTruth, actions] = await Promise.all([get('image'), get('prediction'), get('groundTruth'), ablationFlags(run).rl ? get('actions') : null]);
      if (!image) throw new Error(`no image stored for case ${record.caseId}`);
      return { image, prediction, groundTruth, actions };
    },
    [run.id, record.caseId, api],
  );
  const shown = useRef<CaseImages | null>(null);
  if (state.status === 'ok') shown.current = state.data;
  else if (state.status === 'error') shown.current = null;
  return (
    <div className="case-viewer">
      <div className="case-head">
        <h3>
          Case <code>{record.caseId}</code> <span className="muted">patient {record.patient}</span>
        </h3>
        <div className="nav-buttons">
          <button type="button" onClick={onPrev} disabled={!onPrev} title="previous case (← or k)">
            ← prev
          </button>
          {position && <span className="muted">{position}</span>}
          <button type="button" onClick={onNext} disabled={!onNext} title="next case (→ or j)">
            next →
          </button>
        </div>
      </div>
      <dl className="case-metrics">
        <dt>Dice</dt>
        <dd>{record.dice === null ? 'undefined' : `${(record.dice * 100).toFixed(2)}%`}</dd>
        <dt>IoU</dt>
        <dd>{fmt(record.iou)}</dd>
        <dt>HD</dt>
        <dd>{record.hd === null ? 'undefined' : `${fmt(record.hd, 2)} px`}</dd>
        <dt>HD95</dt>
        <dd>{fmt(record.hd95, 2)}</dd>
        <dt>fbRatio</dt>
        <dd>{(record.fbRatio * 100).toFixed(2)}%</dd>
        <dt>Interval</dt>
        <dd>{record.interval ?? 'outside'}</dd>
        {record.maskedFraction !== null && (
          <>
            <dt title="after the T deterministic policy steps: share of all pixels, and of the ground-truth lesion pixels, that the agent masked">Masked by agent</dt>
            <dd>
              {pct(record.maskedFraction)} of pixels · {record.lesionMaskedFraction === null ? 'no lesion' : `${pct(record.lesionMaskedFraction)} of lesion pixels`}
            </dd>
          </>
        )}
        {record.emptyGt && <dd className="warn">empty ground truth</dd>}
        {record.emptyPred && <dd className="warn">empty prediction</dd>}
      </dl>
      {state.status === 'loading' && shown.current ? (
        // keep the previous case on screen (dimmed) while the next one loads: no flicker when stepping with the keys
        <div className="stale" aria-busy="true">
          <Loading what="the next case" />
          <Layers imgs={shown.current} ct={ctWindowOf(run)} view={view} />
        </div>
      ) : (
        <Async state={state} what="the case images">
          {(imgs) => <Layers imgs={imgs} ct={ctWindowOf(run)} view={view} />}
        </Async>
      )}
    </div>
  );
}

interface ViewSettings {
  layers: Record<LayerKey, LayerStyle>;
  wl: { level: number; window: number };
}

const DEFAULT_VIEW: ViewSettings = {
  layers: {
    prediction: { visible: true, opacity: 0.6 },
    groundTruth: { visible: true, opacity: 0.6 },
    overlap: { visible: true, opacity: 0.7 },
    actions: { visible: false, opacity: 0.4 },
  },
  wl: { level: 127.5, window: 255 },
};

function Layers({ imgs, ct, view: [settings, setSettings] }: { imgs: CaseImages; ct: { min: number; max: number } | null; view: [ViewSettings, (s: ViewSettings) => void] }) {
  const { layers, wl } = settings;
  const setLayers = (l: Record<LayerKey, LayerStyle>) => setSettings({ ...settings, layers: l });
  const setWl = (w: ViewSettings['wl']) => setSettings({ ...settings, wl: w });
  const main = useRef<HTMLCanvasElement>(null);
  const represented = useRef<HTMLCanvasElement>(null);
  const opts: OverlayOptions = { ...layers, ...wl };
  const { rgba, counts } = useMemo(() => composeOverlay(imgs.image, imgs.prediction, imgs.groundTruth, imgs.actions, opts), [imgs, JSON.stringify(opts)]);
  useEffect(() => {
    if (main.current) paint(main.current, rgba, imgs.image.width, imgs.image.height);
  }, [rgba, imgs]);
  useEffect(() => {
    if (represented.current && imgs.actions) paint(represented.current, representedImage(imgs.image, imgs.actions, wl.level, wl.window), imgs.image.width, imgs.image.height);
  }, [imgs, wl.level, wl.window]);
  // grey level <-> HU of the served image (CT windowed to [min, max] HU -> [0, 255])
  const hu = (g: number) => (ct ? ct.min + (g / 255) * (ct.max - ct.min) : g);
  const huWidth = (g: number) => (ct ? (g / 255) * (ct.max - ct.min) : g);
  const presets: [string, number, number][] = ct
    ? [
        ['Full window', 127.5, 255],
        ['Soft tissue (W 400 / L 40 HU)', ((40 - ct.min) / (ct.max - ct.min)) * 255, (400 / (ct.max - ct.min)) * 255],
        ['Narrow (W 150 / L 60 HU)', ((60 - ct.min) / (ct.max - ct.min)) * 255, (150 / (ct.max - ct.min)) * 255],
      ]
    : [
        ['Full range', 127.5, 255],
        ['High contrast', 127.5, 128],
      ];
  const available: Record<LayerKey, boolean> = {
    prediction: imgs.prediction !== null,
    groundTruth: imgs.groundTruth !== null,
    overlap: imgs.prediction !== null && imgs.groundTruth !== null,
    actions: imgs.actions !== null,
  };
  const countOf: Record<LayerKey, number> = { prediction: counts.predictionOnly, groundTruth: counts.groundTruthOnly, overlap: counts.overlap, actions: counts.masked };
  return (
    <div className="case-body">
      <div className="canvases">
        <figure>
          <canvas
            ref={main}
            className="case-canvas"
            data-testid="case-canvas"
            data-prediction-only={counts.predictionOnly}
            data-ground-truth-only={counts.groundTruthOnly}
            data-overlap={counts.overlap}
            aria-label="case image with overlays"
          />
          <figcaption>Red: prediction · green: ground truth · yellow: overlap</figcaption>
        </figure>
        {imgs.actions && (
          <figure>
            <canvas ref={represented} className="case-canvas" data-testid="represented-canvas" aria-label="represented image" />
            <figcaption>Represented image: pixels the agent masked set to 0 (Fig. 9)</figcaption>
          </figure>
        )}
      </div>
      <div className="controls">
        <fieldset>
          <legend>Layers</legend>
          {(Object.keys(LAYER_NAMES) as LayerKey[]).map((k) => (
            <div key={k} className={available[k] ? 'layer' : 'layer unavailable'}>
              <label>
                <input
                  type="checkbox"
                  checked={layers[k].visible && available[k]}
                  disabled={!available[k]}
                  onChange={(e) => setLayers({ ...layers, [k]: { ...layers[k], visible: e.target.checked } })}
                />
                <i className="swatch" style={{ background: rgb(LAYER_COLOURS[k]) }} /> {LAYER_NAMES[k]}
                <span className="muted"> {available[k] ? `${countOf[k]} px` : 'not stored'}</span>
              </label>
              <input
                type="range"
                min={0}
                max={1}
                step={0.05}
                value={layers[k].opacity}
                disabled={!available[k]}
                aria-label={`${LAYER_NAMES[k]} opacity`}
                onChange={(e) => setLayers({ ...layers, [k]: { ...layers[k], opacity: Number(e.target.value) } })}
              />
            </div>
          ))}
        </fieldset>
        <fieldset className="wl">
          <legend>Window / level{ct ? ' (HU)' : ''}</legend>
          <label>
            Level {hu(wl.level).toFixed(0)}
            <input type="range" min={0} max={255} step={0.5} value={wl.level} aria-label="level" onChange={(e) => setWl({ ...wl, level: Number(e.target.value) })} />
          </label>
          <label>
            Window {huWidth(wl.window).toFixed(0)}
            <input type="range" min={1} max={510} step={1} value={wl.window} aria-label="window" onChange={(e) => setWl({ ...wl, window: Number(e.target.value) })} />
          </label>
          <div className="presets">
            {presets.map(([name, level, window]) => (
              <button key={name} type="button" onClick={() => setWl({ level, window })}>
                {name}
              </button>
            ))}
          </div>
        </fieldset>
      </div>
    </div>
  );
}
