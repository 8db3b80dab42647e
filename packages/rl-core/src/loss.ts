/**
 * The pixel-wise actor-critic loss (Eq. 8, 9, 13; PixelRL, Furuta et al. AAAI 2019; METHOD-NOTES
 * "Pixel-wise A3C"), over one recorded episode:
 *   L = sum_t mean_agents[ -log pi(a(t) | s(t)) A(t) - c_H H(pi(s(t))) ]
 *     + c_V sum_t mean_pixels[ 0.5 (R(t) - V(s(t)))^2 ],
 * with R(t) the n-step return of Eq. (11)-(12) (computed here, inside the gradient, because it
 * depends on the learned filter w) and A(t) = R(t) - V(s(t)). The advantage is detached from the
 * network: the policy term moves the policy head and shared extractor only, the value term the
 * value head and shared extractor. The filter w learns through the value term and, with
 * rl.wGradient = 'eq13' (Eq. 13), also through the policy term's R; 'value-only' detaches R there.
 * With patch size k > 1 an agent's advantage is the mean of its k x k pixels' advantages.
 */
import * as tf from '@tensorflow/tfjs';
import type { RlConfig } from '@mrlseg/types';
import { computeNStepReturns } from '@mrlseg/rewards';
import { forwardPolicy } from './networks';
import { agentProbabilities, pixelsToAgents } from './environment';
import type { Episode } from './rollout';

/** Probabilities are clipped to [PROB_EPS, 1] before logarithms. */
export const PROB_EPS = 1e-8;

/** Added to the advantages' standard deviation before dividing (rl.advantageNorm = 'batch'). */
export const ADVANTAGE_EPS = 1e-6;

/** Identity forward, zero gradient (TensorFlow's stop_gradient). */
const stopGradientOp = tf.customGrad(((x: tf.Tensor) => ({
  value: x.clone(),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as unknown as Parameters<typeof tf.customGrad>[0]);
export const stopGradient = <T extends tf.Tensor>(x: T): T => stopGradientOp(x) as T;

export interface ActorCriticLoss {
  /** Total loss (scalar) to minimise. */
  loss: tf.Scalar;
  /** sum_t mean_agents(-log pi(a|s) A). */
  policyLoss: tf.Scalar;
  /** sum_t mean_pixels(0.5 (R - V)^2), before the weight rl.valueCoef. */
  valueLoss: tf.Scalar;
  /** Mean per-agent policy entropy, nats (the bonus is -rl.entropyCoef * T * this). */
  entropy: tf.Scalar;
  /** Mean and standard deviation of the per-agent advantages before rl.advantageNorm (no gradient), nats. */
  advantageMean: tf.Scalar;
  advantageStd: tf.Scalar;
}

/**
 * Loss of one episode for the current network and filter. Call it inside
 * optimizer.computeGradients / tf.variableGrads to train; all returned scalars are new tensors.
 * @param filter - w, [k, k, 1, 1] (createRewardFilter).
 */
export function computeActorCriticLoss(policyNet: tf.LayersModel, episode: Episode, filter: tf.Tensor4D, rl: RlConfig): ActorCriticLoss {
  const fn = 'computeActorCriticLoss';
  const T = episode.inputs.length;
  if (T === 0 || episode.actions.length !== T || episode.rewards.length !== T) {
    throw new RangeError(`${fn}: episode must hold T >= 1 inputs, actions and rewards alike, got ${episode.inputs.length}, ${episode.actions.length}, ${episode.rewards.length}`);
  }
  if (rl.wGradient !== 'eq13' && rl.wGradient !== 'value-only') throw new RangeError(`${fn}: rl.wGradient must be 'eq13' or 'value-only', got '${String(rl.wGradient)}'`);
  const k = rl.patchSize;
  return tf.tidy(() => {
    const input = tf.concat(episode.inputs, 0) as tf.Tensor4D; // (T B) x H x W x C, step-major
    const { probs, value } = forwardPolicy(policyNet, input);
    const returns = tf.concat(
      computeNStepReturns({ rewards: episode.rewards, bootstrapValue: episode.bootstrapValue, filter, gamma: rl.gamma, adp: episode.adp }),
      0,
    ) as tf.Tensor4D;
    const actions = tf.concat(episode.actions, 0) as tf.Tensor4D;

    const agentP = tf.clipByValue(agentProbabilities(probs, k), PROB_EPS, 1);
    const logP = tf.log(agentP);
    const retainLog = tf.slice(logP, [0, 0, 0, 1], [-1, -1, -1, 1]);
    const maskLog = tf.slice(logP, [0, 0, 0, 0], [-1, -1, -1, 1]);
    const logPi = tf.add(tf.mul(actions, retainLog), tf.mul(tf.sub(1, actions), maskLog));
    const entropyMap = tf.neg(tf.sum(tf.mul(agentP, logP), 3, true));

    const advantage = rl.wGradient === 'eq13' ? tf.sub(returns, stopGradient(value)) : stopGradient(tf.sub(returns, value));
    let agentAdvantage = pixelsToAgents(advantage as tf.Tensor4D, k);
    // Standardise over all agents and steps of the update (rl.advantageNorm = 'batch'); the statistics carry no gradient.
    const { mean, variance } = tf.moments(stopGradient(agentAdvantage));
    if (rl.advantageNorm === 'batch') agentAdvantage = tf.div(tf.sub(agentAdvantage, mean), tf.add(tf.sqrt(variance), ADVANTAGE_EPS));
    // Sum over steps of per-step means = T x the mean over all (equal-sized) steps.
    const policyLoss = tf.mul(T, tf.mean(tf.neg(tf.mul(logPi, agentAdvantage)))) as tf.Scalar;
    const entropy = tf.mean(entropyMap) as tf.Scalar;
    const valueLoss = tf.mul(T, tf.mean(tf.mul(0.5, tf.square(tf.sub(returns, value))))) as tf.Scalar;
    const loss = tf.addN([policyLoss, tf.mul(-rl.entropyCoef * T, entropy), tf.mul(rl.valueCoef, valueLoss)]) as tf.Scalar;
    return { loss, policyLoss, valueLoss, entropy, advantageMean: mean as tf.Scalar, advantageStd: tf.sqrt(variance) as tf.Scalar };
  });
}
