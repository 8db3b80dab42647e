/**
 * Progress events the pipeline emits while it trains; the CLI turns them into progress bars on
 * a terminal and JSON lines otherwise. Phases: 'pretrain' (Segmentation-Net, or a baseline's
 * only training), 'rl' (Reinforcement-Net with optional Segmentation-Net fine-tuning), 'eval'.
 */
export type TrainPhase = 'pretrain' | 'rl' | 'finetune' | 'eval';

export type ProgressEvent =
  | { type: 'experiment'; experimentId: string; runs: number; dataset: string; samples: number; resumed: boolean }
  | { type: 'run-start'; runId: string; variant: string; fold: number; seed: number; index: number; total: number; resumedFrom: string | null }
  | { type: 'phase-start'; runId: string; phase: TrainPhase; epochs: number; startEpoch: number; stepsPerEpoch: number }
  | { type: 'step'; runId: string; phase: TrainPhase; epoch: number; step: number; steps: number; loss: number | null; reward: number | null }
  | { type: 'epoch'; runId: string; phase: TrainPhase; epoch: number; epochs: number; loss: number | null; reward: number | null; valDice: number | null; durationMs: number }
  | { type: 'run-end'; runId: string; status: 'completed' | 'failed' | 'incomplete' | 'skipped'; meanDice: number | null; durationMs: number; error?: string }
  | { type: 'message'; level: 'info' | 'warn'; text: string };

export type ProgressListener = (e: ProgressEvent) => void;
