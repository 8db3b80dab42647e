/**
 * The experiment configuration: one zod schema shared by the trainer CLI, the evaluation API
 * and the viewer. Defaults follow the paper (Yang et al., IEEE JBHI 2024, Sections III-IV) and
 * `shared/paper/METHOD-NOTES.md`; where the paper's setting cannot run on a 2-core CPU the CPU
 * default is smaller and the paper's value is given in the field's description.
 */
import { z } from 'zod';
import { DATASET_FORMATS, LESION_LABELS, VARIANT_IDS, type VariantId } from './constants';

export { DATASET_FORMATS, VARIANT_IDS, LESION_LABELS, type DatasetFormat, type VariantId } from './constants';
export const DatasetFormatSchema = z.enum(DATASET_FORMATS);
export const VariantIdSchema = z.enum(VARIANT_IDS);

/** Human-readable names as the paper's tables print them. */
export const VARIANT_LABELS: Record<VariantId, string> = {
  onlyseg: 'OnlySeg',
  'rl-seg': 'RL+Seg',
  'rl-fb-seg': 'RL+FB+Seg',
  'rl-fb-adp-seg': 'RL+FB+ADP+Seg',
  'rl-seg-nopretrain': 'RL+Seg (no pre-training)',
  unet: 'U-Net',
  resunet: 'ResU-Net',
  'seg-ufl': 'Seg-Net + Unified Focal Loss',
};

/** The five ablation variants of Table V, in the paper's order. */
export const ABLATION_VARIANTS: readonly VariantId[] = ['onlyseg', 'rl-seg', 'rl-fb-seg', 'rl-fb-adp-seg', 'rl-seg-nopretrain'];


/** Interval edges in percent of fbRatio (foreground / background), Tables I-IV. */
export const CT_INTERVAL_EDGES = [0, 2, 4, 6, 8, 10] as const;
export const BUSI_INTERVAL_EDGES = [0, 10, 20, 30, 40, 50, 60] as const;
export const IntervalsSchema = z
  .union([z.enum(['ct', 'busi']), z.array(z.number().nonnegative()).min(2)])
  .refine((v) => typeof v === 'string' || v.every((e, i) => i === 0 || e > v[i - 1]), {
    message: 'custom interval edges must be strictly increasing percentages',
  });

export const SyntheticSchema = z.object({
  count: z.number().int().positive().default(96).describe('number of 2-D slices generated'),
  slicesPerPatient: z.number().int().positive().default(8),
  size: z.number().int().min(16).max(2048).default(128),
  seed: z.number().int().default(0),
  distractors: z
    .number()
    .int()
    .min(0)
    .max(8)
    .default(0)
    .describe('lesion-like unlabelled distractor blobs per slice outside the organ (known-answer benchmark; their pixels are kept for evaluation only)'),
});

export const DatasetSchema = z.object({
  format: DatasetFormatSchema.default('synthetic'),
  root: z.string().optional().describe('dataset folder; optional only for the synthetic format'),
  lesion: z.enum(LESION_LABELS).default('tumour').describe('KiTS19: which label counts as lesion'),
  maskThreshold: z.number().int().min(0).max(254).default(127).describe('mask pixel > threshold is foreground'),
  intervals: IntervalsSchema.default('ct'),
  synthetic: SyntheticSchema.default(SyntheticSchema.parse({})),
  maxSamples: z.number().int().positive().optional().describe('cap on slices loaded (quick runs)'),
});

export const AugmentationSchema = z.object({
  enabled: z.boolean().default(true),
  flip: z.boolean().default(true),
  rot90: z.boolean().default(true),
  rotateDegrees: z.number().min(0).max(45).default(10),
  intensityJitter: z.number().min(0).max(1).default(0.1),
});

export const PreprocessingSchema = z.object({
  size: z
    .number()
    .int()
    .min(16)
    .max(1024)
    .refine((s) => s % 16 === 0, { message: 'must be a multiple of 16 (the Segmentation-Net downsamples by 16)' })
    .default(128)
    .describe('square input size in pixels (paper: 512; CPU default 128)'),
  ctWindow: z
    .object({
      mode: z.enum(['auto', 'on', 'off']).default('auto').describe('auto: on for volumes in HU, off for 8-bit slices'),
      min: z.number().default(-79),
      max: z.number().default(304),
    })
    .refine((w) => w.max > w.min, { message: 'ctWindow.max must exceed ctWindow.min' })
    .default({ mode: 'auto', min: -79, max: 304 }),
  grey: z.boolean().default(true),
  augmentation: AugmentationSchema.default(AugmentationSchema.parse({})),
  cacheDir: z.string().optional(),
});

export const SegNetSizesSchema = z.object({
  channels: z.array(z.number().int().positive()).length(4).default([16, 32, 64, 128]),
  hidden: z.number().int().positive().default(128),
  layers: z.number().int().positive().default(2),
  heads: z.number().int().positive().default(4),
  mlp: z.number().int().positive().default(256),
  decoderChannels: z.array(z.number().int().positive()).length(4).default([64, 32, 16, 16]),
});

export const ModelSchema = z.object({
  preset: z.enum(['cpu', 'paper', 'custom']).default('cpu'),
  segNet: SegNetSizesSchema.default(SegNetSizesSchema.parse({})),
  baseWidth: z.number().int().positive().default(16).describe('U-Net / ResU-Net first-level channels'),
});

/** Credit formulations of the agent (rl.credit; issue 15, docs/rl-formulations.md). */
export const RL_CREDITS = ['pixel', 'patch', 'counterfactual', 'candidates'] as const;
export type RlCredit = (typeof RL_CREDITS)[number];

export const RlSchema = z.object({
  episodeLength: z.number().int().min(1).max(16).default(4).describe('T, actions per slice (paper: 4)'),
  gamma: z.number().min(0).max(1).default(0.95),
  alpha: z
    .number()
    .refine((a) => a > -1 && a < 0, { message: 'alpha must lie in (-1, 0) (Eq. 3)' })
    .default(-0.5),
  beta: z
    .number()
    .refine((b) => b > 0.2 && b < 0.3, { message: 'beta must lie in (0.2, 0.3) (Eq. 3)' })
    .default(0.25),
  useFb: z.boolean().default(true).describe('global foreground/background term, Eq. (3)'),
  useAdp: z.boolean().default(true).describe('ADP term in the return, Eq. (10)-(11)'),
  adpWindow: z.number().int().min(1).default(5).refine((w) => w % 2 === 1, { message: 'adpWindow must be odd' }),
  rewardFilterSize: z
    .number()
    .int()
    .min(1)
    .default(5)
    .refine((w) => w % 2 === 1, { message: 'rewardFilterSize must be odd' })
    .describe('size of the learned reward-map filter w (PixelRL reference: 33)'),
  wGradient: z.enum(['eq13', 'value-only']).default('eq13'),
  patchSize: z.number().int().min(1).default(1).describe('one agent per k x k patch; 1 = per pixel'),
  entropyCoef: z.number().min(0).default(0.01),
  valueCoef: z.number().min(0).default(0.5),
  maskValue: z.number().default(0),
  finetuneSeg: z.boolean().default(true).describe('fine-tune the Segmentation-Net on represented images'),
  finetuneOn: z
    .enum(['greedy', 'sampled'])
    .default('greedy')
    .describe(
      "which represented images the Segmentation-Net is fine-tuned on: 'greedy' = s(T) of the deterministic policy (what it sees at test time), 'sampled' = s(T) of the training episode's sampled actions",
    ),
  advantageNorm: z
    .enum(['batch', 'none'])
    .default('batch')
    .describe(
      "'batch' standardises the (detached) advantages of each update to mean 0, std 1 before the policy gradient, so the entropy bonus and the policy term keep their ratio whatever the reward's units; 'none' uses them as computed (PixelRL)",
    ),
  finetuneBatchNorm: z
    .enum(['frozen', 'batch'])
    .default('frozen')
    .describe(
      "batch normalisation while fine-tuning the Segmentation-Net on represented images: 'frozen' keeps the pre-trained statistics (inference mode), 'batch' normalises with (and updates the moving statistics from) the represented batches",
    ),
  pretrain: z.boolean().default(true).describe('initialise the Reinforcement-Net from the pre-trained Segmentation-Net'),
  workers: z.number().int().min(1).default(1).describe('asynchronous workers (1 = synchronous A2C)'),
  fbScale: z
    .enum(['eq3', 'per-pixel'])
    .default('eq3')
    .describe("Eq. (3) global term per pixel: 'eq3' adds alpha f(x) / N (the map's mean is exactly Eq. 3), 'per-pixel' adds alpha f(x)"),
  fbEps: z.number().gt(0).lt(1).default(1e-3).describe('x = N_front / N_back is clipped to [fbEps, 1 / fbEps] (Eq. 3)'),
  retainBias: z
    .number()
    .nullable()
    .default(2)
    .describe(
      "initial bias of the policy head's retain logit over mask (last conv scaled by 0.01): the untrained agent samples mask for 1 / (1 + e^retainBias) of the pixels per step (2: 12 %); null keeps the random initialisation",
    ),
  maskHistory: z.boolean().default(false).describe('policy input gets a second channel: the retained mask so far'),
  credit: z
    .enum(RL_CREDITS)
    .default('pixel')
    .describe(
      "how actions get credit (docs/rl-formulations.md): 'pixel' = the paper's pixel-wise A2C (agents of rl.patchSize, 1 = per pixel); 'patch' = the same A2C with one agent per rl.unitSize patch; 'counterfactual' = one decision per rl.unitSize patch, credited with the value of masking minus retaining it with all else fixed; 'candidates' = counterfactual credit over units aligned with the pre-trained Segmentation-Net's candidate structures (its connected components, grown by rl.candidateMargin) plus the rest as rl.unitSize patches",
    ),
  unitSize: z.number().int().min(2).max(64).default(8).describe("side of the patch units of the 'patch', 'counterfactual' and 'candidates' formulations, pixels"),
  candidateThreshold: z.number().gt(0).lt(1).default(0.5).describe("'candidates': Segmentation-Net probability above which a pixel belongs to a candidate structure"),
  candidateMargin: z.number().int().min(0).max(16).default(2).describe("'candidates': pixels by which each candidate component is grown (square dilation) before it becomes a unit"),
  creditCap: z.number().positive().default(50).describe("'counterfactual'/'candidates': a unit's weight in the logistic loss is min(|credit|, creditCap), nats"),
  explore: z.number().min(0).max(0.5).default(0.1).describe("'counterfactual'/'candidates': each unit's sampled action follows the policy mixed with this share of uniform choice"),
  unitShape: z
    .enum(['square', 'superpixel'])
    .default('square')
    .describe("'counterfactual'/'candidates': the units outside the candidates: 'square' = rl.unitSize patches; 'superpixel' = superpixels of the raw image (SLIC, grid step rl.unitSize), which follow intensity edges"),
  superpixelCompactness: z.number().positive().default(0.1).describe("rl.unitShape 'superpixel': weight of spatial distance in SLIC, intensity units (images in [0, 1]) per rl.unitSize pixels"),
  objective: z
    .enum(['ce', 'dice', 'ce-safe'])
    .default('ce')
    .describe(
      "'counterfactual'/'candidates': the image-level value Q that a unit's credit differences (docs/rl-formulations.md): 'ce' = Eq. (3) times N (summed pixel cross-entropy, nats; the paper's reward); 'dice' = 100 x the soft Dice of the Segmentation-Net's prediction (Dice points; ADP as pixel weights), with the FB term at Eq. (3)'s 1/N scale, also in Dice points; 'ce-safe' = the 'ce' credit, vetoed (made -|credit|) where masking the unit lowers the plain soft Dice by more than rl.diceTolerance",
    ),
  policyInput: z
    .enum(['image', 'image+probability'])
    .default('image')
    .describe(
      "'counterfactual'/'candidates': what the Reinforcement-Net reads: 'image' = the raw image (the paper); 'image+probability' = also the Segmentation-Net's probability map on it, as a second input that both heads concatenate at full resolution (issue 15)",
    ),
  creditContext: z
    .enum(['sampled', 'raw', 'greedy'])
    .default('sampled')
    .describe(
      "'counterfactual'/'candidates': the state a unit's credit is taken in: 'sampled' = with the other units at their sampled actions; 'raw' = with every other unit kept (the value of masking the unit alone), so a unit's label does not depend on the other units' sampled actions; 'greedy' = with the other units at the greedy policy's decisions (the state evaluated at test time), so joint effects of what the policy masks enter each unit's label",
    ),
  greedyThreshold: z
    .number()
    .min(0)
    .default(0)
    .describe("'counterfactual'/'candidates': the greedy (evaluation) policy masks a unit when its mean mask logit exceeds this value (0: P(mask) > 0.5; 1: P(mask) > 0.73)"),
  policySteps: z
    .number()
    .int()
    .min(1)
    .max(16)
    .default(1)
    .describe(
      "'counterfactual'/'candidates': optimizer steps of the policy per trainStep on that batch's unit labels (the credit is computed once per batch, so each extra step costs one policy forward and backward pass, and no Segmentation-Net update: budget fairness counts Segmentation-Net updates)",
    ),
  unitLoss: z
    .enum(['pixel', 'unit'])
    .default('pixel')
    .describe(
      "'counterfactual'/'candidates': where the logistic loss applies: 'pixel' = to every pixel's mask logit, each towards its unit's label; 'unit' = to each unit's mean mask logit, the quantity the unit policy samples from and the greedy policy thresholds",
    ),
  diceTolerance: z
    .number()
    .min(0)
    .default(0.01)
    .describe("rl.objective 'ce-safe': the drop of soft Dice (Dice points, 0..100) that masking a unit may cause before its cross-entropy credit is vetoed"),
  balanceLabels: z
    .boolean()
    .default(false)
    .describe("'counterfactual'/'candidates': the units labelled 'mask' and those labelled 'keep' each carry half of the logistic loss's weight (within a label, units still weigh min(|credit|, creditCap))"),
  creditDeadZone: z
    .number()
    .min(0)
    .default(0)
    .describe(
      "'counterfactual'/'candidates': a unit whose |credit - rl.creditMargin| is below this value (the objective's units: nats for 'ce' and 'ce-safe') weighs 0 in the policy's loss, so neither label is taught where masking and keeping are too close to tell (0: off)",
    ),
  lesionVeto: z
    .boolean()
    .default(false)
    .describe(
      "'counterfactual'/'candidates': a unit that holds any ground-truth foreground pixel gets the credit -(|C_u| + rl.maskBonus), i.e. 'keep', whatever the Segmentation-Net makes of it: a lesion the network misses costs it nothing to mask, but masking destroys the pixels a later (fine-tuned) network could have found. Ground truth enters as it does in the paper's reward (training slices only)",
    ),
  creditNet: z
    .enum(['current', 'pretrained', 'snapshots'])
    .default('current')
    .describe(
      "'counterfactual'/'candidates': the Segmentation-Net that a unit's credit (and the 'ce-safe' veto) is asked of: 'current' = the one being fine-tuned on the masked states (with the Segmentation-Net frozen, the pre-trained one); 'pretrained' = a frozen copy of the pre-trained one, which has never seen a masked image, so a mask cannot teach it where the lesion is and the labels hold still while the other network adapts; 'snapshots' = a frozen committee of rl.creditSnapshots networks taken along pre-training (the last is the pre-trained one), whose credits are averaged, so a distractor that the final network happens to ignore but its earlier states fired on is still worth masking",
    ),
  creditSnapshots: z
    .number()
    .int()
    .min(2)
    .max(8)
    .default(3)
    .describe(
      "rl.creditNet 'snapshots': the committee's size K; its members are the Segmentation-Net after pre-training epochs round(k E / K), k = 1..K (E = training.epochs), so the last member is the pre-trained network. Each member costs one more set of counterfactual forward passes per agent update",
    ),
  policyTrain: z
    .enum(['all', 'heads'])
    .default('all')
    .describe(
      "what the agent's optimiser updates: 'all' = the whole Reinforcement-Net (the paper); 'heads' = only its policy and value heads, the encoder staying as copied from the pre-trained Segmentation-Net (rl.pretrain), so the policy is a read-out of the Segmentation-Net's features with far fewer weights to memorise the training slices with",
    ),
  creditCommittee: z
    .enum(['mean', 'max', 'quorum'])
    .default('mean')
    .describe(
      "rl.creditNet 'snapshots': how the members' credits of a unit combine. 'mean' = their average (a unit is worth masking if it helps the committee on average); 'max' = the largest (a unit is worth masking if it helps any member: a structure that some Segmentation-Net of this data mistook for a lesion), so the label no longer depends on which members happen to ignore a distractor; measured to label lesion units 'mask' too, so pair it with rl.lesionVeto (docs/results.md, section 4.11); 'quorum' = the rl.creditQuorum-th largest, so a unit is labelled 'mask' (credit above rl.creditMargin) exactly when at least that many members would gain from masking it: between 'max' (a quorum of 1) and the most cautious member (a quorum of K)",
    ),
  creditQuorum: z
    .number()
    .int()
    .min(1)
    .max(8)
    .default(2)
    .describe("rl.creditCommittee 'quorum': q, the number of committee members (at most the committee's size: rl.creditSnapshots, or fewer distinct snapshots when pre-training is short) that must gain more than rl.creditMargin from masking a unit for it to be labelled 'mask'; the unit's credit is the q-th largest member credit"),
  creditLastVeto: z
    .boolean()
    .default(false)
    .describe(
      "rl.creditNet 'snapshots': the committee's last member, the pre-trained Segmentation-Net (the network the masked images are given to when it is frozen, and the start of its fine-tuning otherwise), vetoes masking: where its own credit of a unit is <= 0 the unit's credit becomes min(the committee's credit, that credit), so the unit is labelled 'keep' whatever the other members gain (docs/results.md, section 4.14)",
    ),
  maskBonus: z
    .number()
    .min(0)
    .default(0)
    .describe(
      "'counterfactual'/'candidates': a prior reward for masking, added to every unit's credit (Q's units; nats for 'ce' and 'ce-safe'), so a unit is labelled 'mask' unless masking it alone costs more than the bonus: a per-unit, constant form of the paper's FB prior (mask background unless it costs). With 'ce-safe' a vetoed unit's credit becomes -(|C_ce| + bonus), so the units whose masking costs Dice stay 'keep' with at least the bonus as weight (0: off)",
    ),
  creditMargin: z
    .number()
    .min(0)
    .default(0)
    .describe("'counterfactual'/'candidates': a unit's label is 'mask' only when its credit exceeds this margin (in Q's units), and its weight is min(|credit - margin|, creditCap)"),
});

export const LrScheduleSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('constant') }),
  z.object({ type: z.literal('step'), stepSize: z.number().int().positive().default(30), factor: z.number().positive().max(1).default(0.1) }),
  z.object({ type: z.literal('poly'), power: z.number().positive().default(0.9) }),
]);

export const LOSS_IDS = ['bce', 'dice', 'bce-dice', 'ufl'] as const;

export const TrainingSchema = z.object({
  epochs: z.number().int().min(0).default(10).describe('Segmentation-Net pre-training epochs (paper: 100)'),
  batchSize: z.number().int().positive().default(8).describe('paper: 24'),
  optimizer: z.enum(['adam', 'sgd']).default('adam'),
  lr: z.number().positive().default(1e-3).describe('paper: 0.01 with step decay'),
  lrSchedule: LrScheduleSchema.default({ type: 'step', stepSize: 30, factor: 0.1 }),
  loss: z.enum(LOSS_IDS).default('bce-dice'),
  rlEpochs: z.number().int().min(0).default(5).describe('RL epochs (paper: 50)'),
  rlBatchSize: z.number().int().positive().default(10).describe('paper: 10'),
  rlLr: z.number().positive().default(1e-3),
  rlLrSchedule: LrScheduleSchema.default({ type: 'poly', power: 0.9 }),
  validateEvery: z.number().int().positive().default(1),
  validationFraction: z
    .number()
    .min(0)
    .max(0.5)
    .default(0.15)
    .describe('share of the training patients held out as the validation split (curves, model selection); never the test fold; 0 = none'),
  select: z
    .enum(['validation', 'last'])
    .default('validation')
    .describe(
      "'validation': a run keeps whichever of its pre-trained Segmentation-Net (agent off) and its RL / fine-tuning epochs scores the best validation Dice (so it never ends below its own pre-training on validation data); 'last': the final epoch",
    ),
  selectMaxLesionMasked: z
    .number()
    .min(0)
    .max(1)
    .nullable()
    .default(null)
    .describe(
      "training.select 'validation' with an agent: the largest share (0-1) of the validation lesion pixels that a kept state's greedy policy may mask; a state above it is recorded but kept only if no state at or below it (the pre-trained network with the agent off always is) was offered. null: off (selection by validation Dice alone, which on BUSI kept an agent that masked 18.6 % of the validation lesion pixels, docs/results.md section 4.10)",
    ),
  maskOut: z
    .number()
    .min(0)
    .max(1)
    .default(0)
    .describe(
      "pre-training only: each image gets a share, drawn uniformly from [0, maskOut], of its units without a foreground pixel masked to rl.maskValue (units as the agent's: rl.unitSize squares, or superpixels with rl.unitShape 'superpixel'), so the Segmentation-Net has seen masked regions before the agent masks any (issue 15; 0: off)",
    ),
  budgetFair: z
    .boolean()
    .default(true)
    .describe(
      'variants without RL get training.rlEpochs epochs of Segmentation-Net fine-tuning on raw images (batch training.rlBatchSize): as many Segmentation-Net updates as an RL variant that fine-tunes (issue 15)',
    ),
});

export const FoldsSchema = z.object({
  k: z.number().int().min(0).max(20).default(4).describe('0 = train on everything, no held-out fold'),
  only: z.array(z.number().int().min(0)).optional().describe('run only these fold indices'),
  splitFile: z.string().optional(),
  stratify: z.boolean().default(true),
});

export const ExperimentConfigSchema = z.object({
  name: z.string().min(1).default('experiment'),
  dataset: DatasetSchema.default(DatasetSchema.parse({})),
  preprocessing: PreprocessingSchema.default(PreprocessingSchema.parse({})),
  model: ModelSchema.default(ModelSchema.parse({})),
  rl: RlSchema.default(RlSchema.parse({})),
  training: TrainingSchema.default(TrainingSchema.parse({})),
  folds: FoldsSchema.default(FoldsSchema.parse({})),
  seed: z.number().int().default(0),
  seeds: z.array(z.number().int()).optional().describe('several seeds: one run per seed'),
  variant: VariantIdSchema.default('rl-fb-adp-seg'),
  variants: z.array(VariantIdSchema).optional().describe('several variants: one run per variant'),
});

export type ExperimentConfig = z.infer<typeof ExperimentConfigSchema>;
export type ExperimentConfigInput = z.input<typeof ExperimentConfigSchema>;
export type DatasetConfig = z.infer<typeof DatasetSchema>;
export type PreprocessingConfig = z.infer<typeof PreprocessingSchema>;
export type AugmentationConfig = z.infer<typeof AugmentationSchema>;
export type ModelConfig = z.infer<typeof ModelSchema>;
export type SegNetSizes = z.infer<typeof SegNetSizesSchema>;
export type RlConfig = z.infer<typeof RlSchema>;
export type TrainingConfig = z.infer<typeof TrainingSchema>;
export type LrSchedule = z.infer<typeof LrScheduleSchema>;
export type LossId = (typeof LOSS_IDS)[number];
export type FoldsConfig = z.infer<typeof FoldsSchema>;

/** Named Segmentation-Net size presets (METHOD-NOTES "Segmentation-Net"). */
export const SEG_NET_PRESETS: Record<'cpu' | 'paper', SegNetSizes> = {
  cpu: { channels: [16, 32, 64, 128], hidden: 128, layers: 2, heads: 4, mlp: 256, decoderChannels: [64, 32, 16, 16] },
  // TransUNet R50-ViT-B/16 sizes: hidden 768, 12 layers, 12 heads, MLP 3072 (GPU only).
  paper: { channels: [64, 256, 512, 1024], hidden: 768, layers: 12, heads: 12, mlp: 3072, decoderChannels: [256, 128, 64, 16] },
};
