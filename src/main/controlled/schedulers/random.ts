/** The random scheduler: any runnable actor, uniformly, from the run's seeded generator. */
import { Prng } from '../../../shared/prng.js';
import type { Scheduler } from './scheduler.js';

export class RandomScheduler implements Scheduler {
  readonly name = 'random' as const;
  private readonly prng: Prng;

  constructor(seed: number) {
    this.prng = new Prng(seed ^ 0x5eed);
  }

  next(runnable: readonly number[]): number {
    return this.prng.pick(runnable);
  }
}
