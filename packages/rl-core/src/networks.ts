/**
 * The two networks rl-core drives, taken as plain tf.LayersModel (rl-core never imports
 * @mrlseg/models; experiments wires the real ones in). I/O contract:
 * - Reinforcement-Net: B x H x W x C -> [policy B x H x W x 2 (softmax per pixel; channel 0 = mask,
 *   1 = retain), value B x H x W x 1]; C = 1 (the state) or 2 (state + retained mask, rl.maskHistory).
 *   With rl.policyInput 'image+probability' (unit formulations only) it takes two inputs,
 *   [image B x H x W x 1, Segmentation-Net probability on the raw image B x H x W x 1].
 * - Segmentation-Net: B x H x W x 1 -> lesion probability B x H x W x 1.
 * Both run in inference mode (training: false) during rollouts, the loss and inference, so the
 * distribution actions are sampled from is exactly the one the gradient is taken of (batch-norm
 * statistics frozen, no dropout).
 */
import * as tf from '@tensorflow/tfjs';

export interface PolicyOutput {
  /** pi(a | s), B x H x W x 2: channel 0 = mask, 1 = retain. */
  probs: tf.Tensor4D;
  /** V(s), B x H x W x 1, in reward units (nats). */
  value: tf.Tensor4D;
}

function shapeText(t: tf.Tensor | undefined): string {
  return t ? `[${t.shape.join(', ')}]` : 'nothing';
}

/** Runs the Reinforcement-Net on `input` and checks its outputs against the contract. */
export function forwardPolicy(policyNet: tf.LayersModel, input: tf.Tensor4D | tf.Tensor4D[], training = false): PolicyOutput {
  const inputs = Array.isArray(input) ? input : [input];
  if (inputs.length !== policyNet.inputs.length) {
    throw new RangeError(`policyNet: takes ${policyNet.inputs.length} input(s) (${policyNet.inputs.map((t) => t.name).join(', ')}), got ${inputs.length}`);
  }
  const out = policyNet.apply(inputs.length === 1 ? inputs[0] : inputs, { training }) as tf.Tensor | tf.Tensor[];
  const outs = Array.isArray(out) ? out : [out];
  const [probs, value] = outs;
  const [b, h, w] = inputs[0].shape;
  const ok = (t: tf.Tensor | undefined, c: number) => t !== undefined && t.rank === 4 && t.shape[0] === b && t.shape[1] === h && t.shape[2] === w && t.shape[3] === c;
  if (outs.length !== 2 || !ok(probs, 2) || !ok(value, 1)) {
    tf.dispose(outs);
    throw new RangeError(
      `policyNet: expected outputs [policy ${b}x${h}x${w}x2, value ${b}x${h}x${w}x1] for input [${inputs[0].shape.join(', ')}], ` +
        `got ${outs.length} output(s): ${outs.map(shapeText).join(', ')}`,
    );
  }
  return { probs: probs as tf.Tensor4D, value: value as tf.Tensor4D };
}

/** Runs the Segmentation-Net on a state and checks the output against the contract. */
export function forwardSegmentation(segNet: tf.LayersModel, state: tf.Tensor4D, training = false): tf.Tensor4D {
  const out = segNet.apply(state, { training }) as tf.Tensor | tf.Tensor[];
  const p = Array.isArray(out) ? out[0] : out;
  if (Array.isArray(out) && out.length !== 1) {
    tf.dispose(out);
    throw new RangeError(`segNet: expected one output B x H x W x 1, got ${out.length} outputs`);
  }
  const [b, h, w] = state.shape;
  if (p.rank !== 4 || p.shape[0] !== b || p.shape[1] !== h || p.shape[2] !== w || p.shape[3] !== 1) {
    p.dispose();
    throw new RangeError(`segNet: expected output [${b}, ${h}, ${w}, 1] for input [${state.shape.join(', ')}], got ${shapeText(p)}`);
  }
  return p as tf.Tensor4D;
}

/** The tf.Variables behind a model's trainable weights (for optimizer.computeGradients). */
export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/**
 * The variables the agent's optimiser updates (rl.policyTrain, issue 15): 'all' = every trainable
 * weight of the Reinforcement-Net; 'heads' = only the weights of its two heads, the layers whose
 * names start with `policy` or `value` (models' buildReinforcementNet names them so), leaving the
 * encoder as initialised from the pre-trained Segmentation-Net (rl.pretrain). Why: on the
 * known-answer benchmark the whole network learned the training slices' distractors and did not
 * carry that to new patients (docs/results.md, sections 4.8 and 4.11), with the labels present on
 * both (section 4.12); a read-out on the Segmentation-Net's features has far fewer weights to
 * memorise with. 'heads' needs rl.pretrain (else the encoder stays random).
 */
export function policyVariables(model: tf.LayersModel, rl: { policyTrain?: 'all' | 'heads'; pretrain?: boolean }, fn = 'policyVariables'): tf.Variable[] {
  const train = rl.policyTrain ?? 'all';
  if (train === 'all') return trainableVariables(model);
  if (train !== 'heads') throw new RangeError(`${fn}: train must be 'all' or 'heads', got '${String(train)}'`);
  if (rl.pretrain === false) {
    throw new RangeError(`${fn}: rl.policyTrain 'heads' trains a read-out of the encoder copied from the pre-trained Segmentation-Net, but rl.pretrain is false (the encoder would stay random): set rl.pretrain true or rl.policyTrain 'all'`);
  }
  const heads = model.layers.filter((l) => /^(policy|value)/.test(l.name));
  const vars = heads.flatMap((l) => l.trainableWeights.map((w) => w.read() as tf.Variable));
  if (vars.length === 0) {
    throw new RangeError(`${fn}: rl.policyTrain 'heads' needs head layers named policy* or value*, but model '${model.name}' has none (layers: ${model.layers.map((l) => l.name).join(', ')})`);
  }
  return vars;
}
