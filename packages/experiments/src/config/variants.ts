/**
 * Variants as configuration: which networks, which pre-training loss and which RL components
 * each ablation variant (Table V) and baseline uses. `applyVariant` turns an experiment config
 * into the exact config one run trains with, so the stored run config says what was done.
 * Budget-fair baselines (training.budgetFair, issue 15): a variant without RL keeps
 * training.rlEpochs as epochs of Segmentation-Net fine-tuning on raw images, so it gets as many
 * Segmentation-Net updates as the RL variants' pre-training plus fine-tuning.
 *
 * Table V's third row: the paper's text calls it "RL+FB+Seg" but its check marks put it at
 * Seg + RL + ADP without FB; METHOD-NOTES ("Ablation (Table V)") settles on the check marks, so
 * `rl-fb-seg` keeps the paper's label and trains with ADP on and FB off. The ablation table
 * prints the component columns, so the configuration is never hidden behind the label.
 *
 * "w/o pre-training" (row 1): "training from scratch without utilizing the parameters of
 * Segmentation-Net" (Section IV-E). Here: no Segmentation-Net pre-training epochs, a randomly
 * initialised Reinforcement-Net, and the Segmentation-Net learning only by fine-tuning on the
 * represented images during RL.
 */
import { VARIANT_IDS, VARIANT_LABELS, type ExperimentConfig, type LossId, type RunSelection, type VariantId } from '@mrlseg/types';

export type NetworkKind = 'segnet' | 'unet' | 'resunet';

export interface VariantSpec {
  id: VariantId;
  label: string;
  /** The segmentation network. */
  net: NetworkKind;
  /** Segmentation loss; undefined = the config's `training.loss`. */
  loss?: LossId;
  /** Whether the Reinforcement-Net and the RL phase are used. */
  rl: boolean;
  /** Eq. (3) global foreground/background term. */
  useFb: boolean;
  /** Eq. (10)-(11) approximate difficulty of pixels. */
  useAdp: boolean;
  /** Pre-train the Segmentation-Net and initialise the Reinforcement-Net from it. */
  pretrain: boolean;
}

export const VARIANTS: Record<VariantId, VariantSpec> = {
  onlyseg: { id: 'onlyseg', label: VARIANT_LABELS.onlyseg, net: 'segnet', rl: false, useFb: false, useAdp: false, pretrain: true },
  'rl-seg': { id: 'rl-seg', label: VARIANT_LABELS['rl-seg'], net: 'segnet', rl: true, useFb: false, useAdp: false, pretrain: true },
  'rl-fb-seg': { id: 'rl-fb-seg', label: VARIANT_LABELS['rl-fb-seg'], net: 'segnet', rl: true, useFb: false, useAdp: true, pretrain: true },
  'rl-fb-adp-seg': { id: 'rl-fb-adp-seg', label: VARIANT_LABELS['rl-fb-adp-seg'], net: 'segnet', rl: true, useFb: true, useAdp: true, pretrain: true },
  'rl-seg-nopretrain': { id: 'rl-seg-nopretrain', label: VARIANT_LABELS['rl-seg-nopretrain'], net: 'segnet', rl: true, useFb: false, useAdp: false, pretrain: false },
  unet: { id: 'unet', label: VARIANT_LABELS.unet, net: 'unet', rl: false, useFb: false, useAdp: false, pretrain: true },
  resunet: { id: 'resunet', label: VARIANT_LABELS.resunet, net: 'resunet', rl: false, useFb: false, useAdp: false, pretrain: true },
  'seg-ufl': { id: 'seg-ufl', label: VARIANT_LABELS['seg-ufl'], net: 'segnet', loss: 'ufl', rl: false, useFb: false, useAdp: false, pretrain: true },
};

/** The spec of a variant id, with an error listing the known ids. */
export function variantSpec(id: string): VariantSpec {
  const v = (VARIANTS as Record<string, VariantSpec | undefined>)[id];
  if (!v) throw new Error(`variantSpec: unknown variant '${id}' (known: ${VARIANT_IDS.join(', ')})`);
  return v;
}

/**
 * Whether a run of `variant` runs with its agent off because its validation-based selection kept the
 * pre-trained Segmentation-Net (training's evaluation, `mrlseg eval --run` and the report all read it
 * so). False for variants without an agent and for runs without a selection.
 */
export function agentOffBySelection(variant: string, selection: Pick<RunSelection, 'chosen'> | null | undefined): boolean {
  return variantSpec(variant).rl && selection?.chosen === 'pretrained';
}

/**
 * The config one run of `variant` trains with: `variant` set, `variants` dropped, `rl.useFb`,
 * `rl.useAdp`, `rl.pretrain` and the loss fixed by the variant. Variants without RL get
 * `training.rlEpochs = 0`; without pre-training, `training.epochs = 0` and Segmentation-Net
 * fine-tuning on.
 */
export function applyVariant(config: ExperimentConfig, variant: VariantId): ExperimentConfig {
  const v = variantSpec(variant);
  const { variants: _drop, ...rest } = config;
  void _drop;
  return {
    ...rest,
    variant,
    rl: { ...config.rl, useFb: v.useFb, useAdp: v.useAdp, pretrain: v.pretrain, finetuneSeg: v.pretrain ? config.rl.finetuneSeg : true },
    training: {
      ...config.training,
      loss: v.loss ?? config.training.loss,
      epochs: v.pretrain ? config.training.epochs : 0,
      // Without RL, rlEpochs are the budget-fair fine-tuning epochs on raw images (training.budgetFair).
      rlEpochs: v.rl || (config.training.budgetFair && v.pretrain && config.rl.finetuneSeg) ? config.training.rlEpochs : 0,
    },
  };
}

/** Table V's component columns for a variant. */
export function variantComponents(id: VariantId): { noPretraining: boolean; seg: boolean; rl: boolean; adp: boolean; fb: boolean } {
  const v = variantSpec(id);
  return { noPretraining: !v.pretrain, seg: v.net === 'segnet', rl: v.rl, adp: v.useAdp, fb: v.useFb };
}
