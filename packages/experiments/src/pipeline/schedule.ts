/** Learning-rate schedules of the config (`training.lrSchedule`, `training.rlLrSchedule`), per epoch. */
import type { LrSchedule } from '@mrlseg/types';

/**
 * Learning rate for `epoch` (0-based) of `totalEpochs`: constant; step (x factor every stepSize
 * epochs: the paper's "step decay"); poly (x (1 - epoch / total)^power: PixelRL's schedule).
 */
export function learningRateAt(schedule: LrSchedule, baseLr: number, epoch: number, totalEpochs: number): number {
  if (!(baseLr > 0)) throw new RangeError(`learningRateAt: baseLr must be > 0, got ${baseLr}`);
  if (!Number.isInteger(epoch) || epoch < 0) throw new RangeError(`learningRateAt: epoch must be an integer >= 0, got ${epoch}`);
  switch (schedule.type) {
    case 'constant':
      return baseLr;
    case 'step':
      return baseLr * schedule.factor ** Math.floor(epoch / schedule.stepSize);
    case 'poly':
      return baseLr * Math.max(0, 1 - epoch / Math.max(1, totalEpochs)) ** schedule.power;
  }
}
