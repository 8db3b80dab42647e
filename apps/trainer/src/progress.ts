/**
 * Progress output for long training commands. On a terminal: two cli-progress bars (runs of the
 * experiment; steps of the current phase with epoch, ETA, loss and reward) with one log line per
 * finished epoch and run. Otherwise (a pipe, a CI log): one JSON object per line, step events
 * throttled to one a second. Both go to stderr, so stdout carries only results (tables, JSON).
 */
import cliProgress from 'cli-progress';
import type { ProgressEvent, ProgressListener } from '@mrlseg/experiments';

export interface ProgressReporter {
  listener: ProgressListener;
  /** Prints a line without breaking the bars. */
  log(line: string): void;
  stop(): void;
}

export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  /** Force bars (true) or JSON lines (false); default: bars when `stream` is a TTY. */
  tty?: boolean;
  /** Minimum milliseconds between JSON step lines. */
  stepIntervalMs?: number;
}

const fmt = (v: number | null | undefined, d = 4): string => (v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(d));

/** A reporter writing bars on a TTY and JSON lines otherwise. */
export function createProgress(options: ProgressOptions = {}): ProgressReporter {
  const stream = options.stream ?? process.stderr;
  const tty = options.tty ?? Boolean(stream.isTTY);
  return tty ? barReporter(stream) : jsonReporter(stream, options.stepIntervalMs ?? 1000);
}

function jsonReporter(stream: NodeJS.WriteStream, stepIntervalMs: number): ProgressReporter {
  let lastStep = 0;
  const write = (o: object): void => void stream.write(`${JSON.stringify({ time: new Date().toISOString(), ...o })}\n`);
  return {
    listener(e: ProgressEvent) {
      if (e.type === 'step') {
        const t = Date.now();
        if (t - lastStep < stepIntervalMs && e.step < e.steps) return;
        lastStep = t;
      }
      write(e);
    },
    log(line) {
      write({ type: 'message', level: 'info', text: line });
    },
    stop() {},
  };
}

function barReporter(stream: NodeJS.WriteStream): ProgressReporter {
  const multi = new cliProgress.MultiBar(
    {
      stream,
      clearOnComplete: false,
      hideCursor: true,
      etaBuffer: 50,
      format: '{label} |{bar}| {value}/{total} {unit} | ETA {eta_formatted} | {info}',
      barsize: 24,
    },
    cliProgress.Presets.shades_classic,
  );
  let runsBar: cliProgress.SingleBar | null = null;
  let phaseBar: cliProgress.SingleBar | null = null;
  let phase: { runId: string; phase: string; epochs: number; steps: number } | null = null;
  const log = (line: string): void => multi.log(`${line}\n`);
  const dropPhase = (): void => {
    if (phaseBar) multi.remove(phaseBar);
    phaseBar = null;
  };
  return {
    listener(e: ProgressEvent) {
      switch (e.type) {
        case 'experiment':
          log(`experiment ${e.experimentId}: ${e.runs} run(s) on ${e.dataset} (${e.samples} slices)${e.resumed ? ', resumed' : ''}`);
          runsBar = multi.create(e.runs, 0, { label: 'runs   ', unit: 'runs ', info: '' });
          break;
        case 'run-start':
          runsBar?.update(e.index, { info: `${e.variant} fold ${e.fold} seed ${e.seed}${e.resumedFrom ? ` (resumed from ${e.resumedFrom})` : ''}` });
          break;
        case 'phase-start':
          dropPhase();
          phase = { runId: e.runId, phase: e.phase, epochs: e.epochs, steps: e.stepsPerEpoch };
          phaseBar = multi.create(Math.max(1, e.epochs * e.stepsPerEpoch), e.startEpoch * e.stepsPerEpoch, {
            label: e.phase.padEnd(8).slice(0, 8),
            unit: 'steps',
            info: `epoch ${e.startEpoch + 1}/${e.epochs}`,
          });
          break;
        case 'step':
          if (phaseBar && phase && phase.phase === e.phase) {
            phaseBar.update(e.epoch * phase.steps + e.step, { info: `epoch ${e.epoch + 1}/${phase.epochs} loss ${fmt(e.loss)} reward ${fmt(e.reward)}` });
          }
          break;
        case 'epoch':
          log(`  ${e.phase} epoch ${e.epoch + 1}/${e.epochs}: loss ${fmt(e.loss)} reward ${fmt(e.reward)} val Dice ${fmt(e.valDice, 3)} (${(e.durationMs / 1000).toFixed(1)} s)`);
          break;
        case 'run-end':
          dropPhase();
          runsBar?.increment(1);
          log(`run ${e.runId}: ${e.status}${e.meanDice === null ? '' : `, mean Dice ${e.meanDice.toFixed(4)}`} (${(e.durationMs / 1000).toFixed(1)} s)${e.error ? `: ${e.error}` : ''}`);
          break;
        case 'message':
          log(e.level === 'warn' ? `warning: ${e.text}` : e.text);
          break;
      }
    },
    log,
    stop() {
      multi.stop();
    },
  };
}

/** Events of `mrlseg predict` (see commands/predict.ts). */
export type PredictEvent =
  | { type: 'predict-start'; cases: number; model: string; inputSize: [number, number]; metadata: boolean; sliceAxis: 0 | 2 }
  | { type: 'case-start'; case: string; kind: string; slices: number }
  | { type: 'slices'; case: string; done: number; total: number }
  | { type: 'case-end'; case: string; status: 'done' | 'failed'; out: string | null; foreground: number; error?: string }
  | { type: 'predict-end'; done: number; failed: number; slices: number; durationMs: number };

export interface PredictProgress {
  listener: (e: PredictEvent) => void;
  stop(): void;
}

/**
 * Progress of `mrlseg predict` on stderr: on a terminal, a bar over cases and one over the
 * current case's slices, with a line per failed case; otherwise JSON lines (slice events
 * throttled to one a second per case, the last one always written).
 */
export function createPredictProgress(options: ProgressOptions = {}): PredictProgress {
  const stream = options.stream ?? process.stderr;
  const tty = options.tty ?? Boolean(stream.isTTY);
  if (!tty) {
    const interval = options.stepIntervalMs ?? 1000;
    let last = 0;
    return {
      listener(e) {
        if (e.type === 'slices') {
          const t = Date.now();
          if (t - last < interval && e.done < e.total) return;
          last = t;
        }
        stream.write(`${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`);
      },
      stop() {},
    };
  }
  const multi = new cliProgress.MultiBar(
    { stream, clearOnComplete: false, hideCursor: true, format: '{label} |{bar}| {value}/{total} {unit} | ETA {eta_formatted} | {info}', barsize: 24 },
    cliProgress.Presets.shades_classic,
  );
  let cases: cliProgress.SingleBar | null = null;
  let slices: cliProgress.SingleBar | null = null;
  let finished = 0;
  return {
    listener(e) {
      switch (e.type) {
        case 'predict-start':
          cases = multi.create(e.cases, 0, { label: 'cases ', unit: 'cases ', info: '' });
          break;
        case 'case-start':
          if (slices) multi.remove(slices);
          slices = e.slices > 1 ? multi.create(e.slices, 0, { label: 'slices', unit: 'slices', info: e.case }) : null;
          cases?.update(finished, { info: e.case });
          break;
        case 'slices':
          slices?.update(e.done);
          break;
        case 'case-end':
          cases?.update(++finished, { info: e.case });
          if (e.status === 'failed') multi.log(`skipped ${e.case}: ${e.error}\n`);
          break;
        case 'predict-end':
          break;
      }
    },
    stop() {
      multi.stop();
    },
  };
}
