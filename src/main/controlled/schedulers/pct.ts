/**
 * PCT, probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte,
 * ASPLOS 2010): each actor gets a random distinct priority above `depth`; depth − 1 change
 * points are drawn in [1, stepsMax]; the highest-priority runnable actor always moves, and
 * at the i-th change point the actor that moves drops to priority i. A bug of depth d is
 * found with probability at least 1 / (n · k^(d−1)) per run. The change points are distinct
 * (as shuttle draws them): a draw equal to one before is drawn again, so that two draws never
 * merge into one change point and silently make the depth smaller. As in the paper, the
 * i-th change point is the i-th drawn, not the i-th in step order: an actor that is the only
 * runnable one can be lowered to 1 and later to 2, still below every actor not lowered.
 */
import { assert } from '../../../shared/assert.js';
import { Prng } from '../../../shared/prng.js';
import type { Scheduler } from './scheduler.js';

export class PctScheduler implements Scheduler {
  readonly name = 'pct' as const;
  private readonly priorities: number[];
  private readonly changePoints: Map<number, number>;

  constructor(
    seed: number,
    actorCount: number,
    stepsMax: number,
    private readonly depth: number,
  ) {
    const prng = new Prng(seed ^ 0x9c7);
    const order = Array.from({ length: actorCount }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = prng.int(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    this.priorities = new Array<number>(actorCount);
    order.forEach((actor, rank) => (this.priorities[actor] = depth + rank));
    this.changePoints = PctScheduler.drawChangePoints(prng, Math.max(stepsMax, 1), depth);
  }

  /**
   * depth − 1 distinct steps in [1, last] (fewer when [1, last] has fewer), the i-th drawn
   * lowering to priority depth − i. A repeated draw is redrawn: a draw that repeats none
   * is what it always was, so schedules without a repeat are unchanged.
   */
  private static drawChangePoints(prng: Prng, last: number, depth: number): Map<number, number> {
    const count = Math.min(depth - 1, last);
    const points = new Map<number, number>();
    for (let i = 1; i <= count; i++) {
      let step = prng.range(1, last);
      while (points.has(step)) step = prng.range(1, last);
      points.set(step, depth - i);
    }
    assert(points.size === Math.max(count, 0), 'PctScheduler: change points not distinct');
    return points;
  }

  next(runnable: readonly number[], step: number): number {
    let best = runnable[0]!;
    for (const actor of runnable) {
      if (this.priorities[actor]! > this.priorities[best]!) best = actor;
    }
    const lowered = this.changePoints.get(step);
    if (lowered !== undefined) {
      assert(lowered < this.depth, 'PctScheduler: a change point not below every start priority');
      this.priorities[best] = lowered;
    }
    return best;
  }
}
