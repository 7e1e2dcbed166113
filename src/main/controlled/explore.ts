/**
 * `vmmsim explore`: every schedule of a scenario with at most K preemptions (iterative
 * context bounding, Musuvathi and Qadeer, PLDI 2007), with partial-order reduction from step
 * footprints. A schedule is a list of decisions. The default schedule lets the actor that
 * moved last go on until its step() ends, then the next actor in turn (round robin); a
 * preemption is any decision other than the default's — cutting into an actor's step, or
 * passing over the next actor between steps (delay bounding: Emmi, Qadeer and Rakamaric,
 * POPL 2011, a preemption bound over a round-robin scheduler). Each run follows a prefix,
 * then the default; at every decision after its prefix it lists the other choices as new
 * prefixes, within the bound.
 *
 * The reduction: each run keeps a fingerprint of its happens-before graph (each step with,
 * for every other actor, its latest earlier step whose footprint conflicts — footprint.ts).
 * Schedules that differ only in the order of steps that commute have the same graph, so
 * they reach the same state; a run that reaches a state already explored with no more
 * preemptions used and the same last actor stops there (CHESS's happens-before caching).
 * Fewer schedules, the same set of reachable states and failures, up to the bound.
 */
import type { ScenarioDefinition } from '../../shared/scenario/scenario.js';
import { type ControlledResult, runControlled, type StepObserver } from './controlled.js';
import type { Kernel } from '../../shared/kernel.js';
import type { Footprint } from './footprint.js';
import { R } from './footprint.js';
import { ExplorePruned, ReplayDivergence, type Scheduler } from './schedulers/scheduler.js';

export interface ExploreRunOptions {
  preemptions: number;
  stepsMax: number;
  seed: number;
  checkEvery: number;
  /** false: no partial-order reduction (every schedule within the bound runs to its end). */
  reduce?: boolean;
}

/** A subtree: the schedules that start with `prefix`, which used `preemptions`. */
export interface ExploreItem {
  prefix: number[];
  preemptions: number;
}

export interface ExploreFailure {
  result: ControlledResult;
  preemptions: number;
}

export interface ExploreCount {
  /** Runs that went to the end. */
  explored: number;
  /** Runs stopped at a state equivalent to one explored with no more preemptions. */
  pruned: number;
  /** Distinct states (up to equivalence) at which a decision was taken. */
  states?: number;
  failure?: ExploreFailure;
}

/** The happens-before fingerprint of a run, step by step (64 bits in two 32-bit sums). */
export class Happens implements StepObserver {
  private readonly counts: number[];
  private readonly lastAll: number[];
  private readonly lastWrite = new Map<number, number[]>();
  private readonly lastAccess = new Map<number, number[]>();
  private readonly lc: number[];
  lo = 0;
  hi = 0;

  constructor(private readonly actors: number) {
    this.counts = new Array<number>(actors).fill(0);
    this.lastAll = new Array<number>(actors).fill(0);
    this.lc = new Array<number>(actors).fill(0);
  }

  private row(map: Map<number, number[]>, resource: number): number[] {
    let row = map.get(resource);
    if (row === undefined) map.set(resource, (row = new Array<number>(this.actors).fill(0)));
    return row;
  }

  private after(row: number[] | undefined): void {
    if (row === undefined) return;
    for (let j = 0; j < this.actors; j++) if (row[j]! > this.lc[j]!) this.lc[j] = row[j]!;
  }

  onStep(actor: number, fp: Footprint, _kernel: Kernel): void {
    const k = (this.counts[actor] = this.counts[actor]! + 1);
    const lc = this.lc;
    for (let j = 0; j < this.actors; j++) lc[j] = fp.all ? this.counts[j]! : this.lastAll[j]!;
    if (fp.all) this.lastAll[actor] = k;
    else {
      // Every step may read the shared words (plain memory, no scheduling point).
      this.after(this.lastWrite.get(R.shared));
      for (const r of fp.reads) this.after(this.lastWrite.get(r));
      for (const r of fp.writes) this.after(this.lastAccess.get(r));
      this.row(this.lastAccess, R.shared)[actor] = k;
      for (const r of fp.reads) this.row(this.lastAccess, r)[actor] = k;
      for (const r of fp.writes) {
        this.row(this.lastWrite, r)[actor] = k;
        this.row(this.lastAccess, r)[actor] = k;
      }
    }
    lc[actor] = k;
    let h1 = Math.imul(actor + 1, 0x9e3779b1) >>> 0;
    let h2 = (actor * 0x85ebca6b) ^ 0x2545f491;
    for (let j = 0; j < this.actors; j++) {
      h1 = Math.imul(h1 ^ lc[j]!, 0x01000193) >>> 0;
      h2 = Math.imul((h2 ^ (lc[j]! + j * 0x3c6ef372)) >>> 0, 0x5bd1e995) >>> 0;
    }
    this.lo = (this.lo + (h1 ^ (h1 >>> 15))) >>> 0;
    this.hi = (this.hi + (h2 ^ (h2 >>> 13))) >>> 0;
  }
}

/** States claimed so far: key → fewest preemptions they were reached with. */
export type Claims = Map<string, number>;

/** Follows a prefix, then lets the last actor go on; lists the other choices as it goes. */
export class ExploreScheduler implements Scheduler {
  readonly name = 'explore' as const;
  readonly alternatives: ExploreItem[] = [];
  private readonly taken: number[] = [];
  private last = -1;
  private used = 0;

  constructor(
    private readonly item: ExploreItem,
    private readonly bound: number,
    private readonly claims: Claims,
    private readonly happens: Happens,
    private readonly actorNames: () => readonly string[],
    private readonly reduce = true,
  ) {}

  get preemptions(): number {
    return this.used;
  }

  /**
   * The default: the actor that moved last goes on while it is inside a step; between steps
   * the next runnable actor after it, in turn. Any other choice costs one preemption.
   */
  private fallback(runnable: readonly number[], midStep: boolean): number {
    if (midStep && runnable.includes(this.last)) return this.last;
    for (const actor of runnable) if (actor > this.last) return actor;
    return runnable[0]!;
  }

  next(runnable: readonly number[], step: number, midStep = false): number {
    const preferred = this.fallback(runnable, midStep);
    let pick: number;
    if (step < this.item.prefix.length) {
      pick = this.item.prefix[step]!;
      if (!runnable.includes(pick))
        throw new ReplayDivergence(step, pick, runnable, this.actorNames());
    } else {
      pick = preferred;
      const key = `${step}:${this.last}:${this.happens.lo}:${this.happens.hi}`;
      const seen = this.claims.get(key);
      if (this.reduce && seen !== undefined && seen <= this.used) throw new ExplorePruned();
      if (seen === undefined || this.used < seen) this.claims.set(key, this.used);
      if (this.used < this.bound) {
        for (const other of runnable) {
          if (other === pick) continue;
          this.alternatives.push({ prefix: [...this.taken, other], preemptions: this.used + 1 });
        }
      }
    }
    if (pick !== preferred) this.used += 1;
    this.taken.push(pick);
    this.last = pick;
    return pick;
  }
}

/** One run of `item`: its result and the subtrees it found. */
export async function exploreOne(
  scenario: ScenarioDefinition,
  o: ExploreRunOptions,
  item: ExploreItem,
  claims: Claims,
): Promise<{ result: ControlledResult; scheduler: ExploreScheduler }> {
  const actors = scenario.devices.length + scenario.vms.length;
  const happens = new Happens(actors);
  const names = [...scenario.devices.map((d) => d.name), ...scenario.vms.map((v) => v.name)];
  const scheduler = new ExploreScheduler(
    item,
    o.preemptions,
    claims,
    happens,
    () => names,
    o.reduce !== false,
  );
  const options = {
    seed: o.seed,
    stepsMax: o.stepsMax,
    checkEvery: o.checkEvery,
    interruptPer1024: 0,
    observer: happens,
  };
  const result = await runControlled(scenario, options, scheduler);
  return { result, scheduler };
}

/**
 * Explores the subtrees `items` (each item's own schedules and all that branch off them),
 * fewest preemptions first, with one set of claims; stops at the first failure.
 */
export async function exploreItems(
  scenario: ScenarioDefinition,
  o: ExploreRunOptions,
  items: readonly ExploreItem[],
  seedClaims: Iterable<[string, number]> = [],
  signal?: { aborted: boolean },
): Promise<ExploreCount> {
  const claims: Claims = new Map(seedClaims);
  const levels: ExploreItem[][] = Array.from({ length: o.preemptions + 1 }, () => []);
  for (const item of [...items].reverse()) levels[item.preemptions]!.push(item);
  const count: ExploreCount = { explored: 0, pruned: 0 };
  for (const level of levels) {
    for (let item = level.pop(); item !== undefined; item = level.pop()) {
      if (signal?.aborted === true) return { ...count, states: claims.size };
      const { result, scheduler } = await exploreOne(scenario, o, item, claims);
      if (result.pruned === true) count.pruned += 1;
      else count.explored += 1;
      if (result.failure !== undefined) {
        count.failure = { result, preemptions: scheduler.preemptions };
        return { ...count, states: claims.size };
      }
      const found = scheduler.alternatives;
      for (let i = found.length - 1; i >= 0; i--) levels[found[i]!.preemptions]!.push(found[i]!);
    }
  }
  return { ...count, states: claims.size };
}
