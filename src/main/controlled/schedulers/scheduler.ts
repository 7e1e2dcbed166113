/**
 * The scheduler interface of controlled mode: at every scheduling point the runner asks
 * which runnable actor moves next. Implementations: random.ts, pct.ts, replay.ts — one per
 * file. A scheduler decides; it never runs anything.
 */

export interface Scheduler {
  readonly name: SchedulerName;
  /**
   * The actor (an index into the run's actors) that moves at `step`, one of `runnable`
   * (ascending). `midStep`: the actor that moved last stopped inside its step() rather than
   * between two. Throws ReplayDivergence when a replay cannot follow its schedule.
   */
  next(runnable: readonly number[], step: number, midStep?: boolean): number;
}

export const SchedulerNames = ['random', 'pct', 'replay', 'explore'] as const;
export type SchedulerName = (typeof SchedulerNames)[number];

/** A replay that cannot follow its schedule: where, and what was possible instead. */
export class ReplayDivergence extends Error {
  override name = 'ReplayDivergence';
  constructor(
    readonly step: number,
    readonly expected: number | undefined,
    readonly runnable: readonly number[],
    actorNames: readonly string[],
  ) {
    const who = (i: number): string => `${actorNames[i] ?? `actor ${i}`} (${i})`;
    const could = `runnable were [${runnable.map(who).join(', ')}]`;
    super(
      expected === undefined
        ? `replay diverged: the schedule ends at step ${step}, ${could}`
        : `replay diverged: expected ${who(expected)} at step ${step}, ${could}`,
    );
  }
}

/** Thrown by explore's scheduler to end a run at a state it has explored already. */
export class ExplorePruned extends Error {
  override name = 'ExplorePruned';
}
