/**
 * The replay scheduler: follows a saved list of decisions exactly, and stops with a
 * ReplayDivergence the moment it cannot (never carries on with a guess). Past the end of
 * the list, from `tailFrom` on (shrink's shortened schedules), it lets the lowest-numbered
 * runnable actor finish its step.
 */
import { ReplayDivergence, type Scheduler } from './scheduler.js';

export class ReplayScheduler implements Scheduler {
  readonly name = 'replay' as const;

  constructor(
    private readonly decisions: readonly number[],
    private readonly actorNames: readonly string[],
    private readonly tailFrom = Number.POSITIVE_INFINITY,
  ) {}

  next(runnable: readonly number[], step: number): number {
    if (step >= this.decisions.length && step >= this.tailFrom) return runnable[0]!;
    const expected = this.decisions[step];
    if (expected === undefined || !runnable.includes(expected)) {
      throw new ReplayDivergence(step, expected, runnable, this.actorNames);
    }
    return expected;
  }

  get length(): number {
    return this.decisions.length;
  }
}
