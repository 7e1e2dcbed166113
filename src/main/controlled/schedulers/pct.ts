/**
 * PCT, probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte,
 * ASPLOS 2010): each actor gets a random distinct priority above `depth`; depth − 1 change
 * points are drawn in [1, stepsMax]; the highest-priority runnable actor always moves, and
 * at the i-th change point the actor that moves drops to priority i. A bug of depth d is
 * found with probability at least 1 / (n · k^(d−1)) per run.
 */
import { Prng } from '../../../shared/prng.js';
import type { Scheduler } from './scheduler.js';

export class PctScheduler implements Scheduler {
  readonly name = 'pct' as const;
  private readonly priorities: number[];
  private readonly changePoints: Map<number, number>;

  constructor(seed: number, actorCount: number, stepsMax: number, depth: number) {
    const prng = new Prng(seed ^ 0x9c7);
    const order = Array.from({ length: actorCount }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = prng.int(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    this.priorities = new Array<number>(actorCount);
    order.forEach((actor, rank) => (this.priorities[actor] = depth + rank));
    this.changePoints = new Map();
    for (let i = 1; i < depth; i++)
      this.changePoints.set(prng.range(1, Math.max(stepsMax, 1)), depth - i);
  }

  next(runnable: readonly number[], step: number): number {
    let best = runnable[0]!;
    for (const actor of runnable) {
      if (this.priorities[actor]! > this.priorities[best]!) best = actor;
    }
    const lowered = this.changePoints.get(step);
    if (lowered !== undefined) this.priorities[best] = lowered;
    return best;
  }
}
