/**
 * `vmmsim explore` on the pool: the first schedule runs here, and the subtrees that branch
 * off it (one per decision and other choice, in order) go in fixed chunks to pool threads,
 * each chunk explored with its own claims plus the first run's. The chunks do not depend on
 * the number of threads, so the counts are the same with any --jobs; --shard i/n takes the
 * chunks c with c mod n = i (shard 0 also counts the first run), and the shards of one
 * explore together cover the whole tree.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { ScenarioDefinition } from '../../shared/scenario/scenario.js';
import { poolTask } from '../../workers/spawn.js';
import { srcUrl } from '../../shared/module_url.js';
import type { ScenarioSource } from '../../shared/protocol.js';
import type { ExploreTask } from './explore_task.js';
import type { ControlledFailure } from './controlled.js';
import {
  type Claims,
  type ExploreCount,
  type ExploreItem,
  type ExploreRunOptions,
  exploreOne,
} from './explore.js';
import { writeFailureReplay } from './hunt.js';

/** Subtrees per pool task. */
const CHUNK = 8;

export interface ExploreOptions extends ExploreRunOptions {
  shard: { index: number; count: number };
  jobs: number;
  outDir: string;
  signal?: AbortSignal;
}

export interface ExploreReport {
  scenario: string;
  preemptions: number;
  stepsMax: number;
  seed: number;
  shard: { index: number; count: number };
  /** Schedules run to the end. */
  explored: number;
  /** Schedules stopped at a state equivalent to one explored. */
  pruned: number;
  /** Chunks of the tree: all, and the ones this shard took and finished. */
  chunks: number;
  chunksDone: number;
  elapsedMs: number;
  jobs: number;
  interrupted: boolean;
  failure?: {
    failure: ControlledFailure;
    preemptions: number;
    steps: number;
    replayPath: string;
  };
}

export class Explore {
  constructor(
    private readonly source: ScenarioSource,
    private readonly scenario: ScenarioDefinition,
    private readonly o: ExploreOptions,
  ) {}

  async run(): Promise<ExploreReport> {
    const started = performance.now();
    const claims: Claims = new Map();
    const root = await exploreOne(this.scenario, this.o, { prefix: [], preemptions: 0 }, claims);
    const first = this.o.shard.index === 0 ? 1 : 0;
    const count: ExploreCount = { explored: first, pruned: 0 };
    const items = root.scheduler.alternatives;
    const chunks: ExploreItem[][] = [];
    for (let i = 0; i < items.length; i += CHUNK) chunks.push(items.slice(i, i + CHUNK));
    const mine = chunks.filter((_, c) => c % this.o.shard.count === this.o.shard.index);
    let chunksDone = 0;
    if (root.result.failure !== undefined) {
      count.failure = { result: root.result, preemptions: 0 };
    } else if (mine.length > 0) {
      chunksDone = await this.runPool(mine, [...claims], count);
    }
    const report: ExploreReport = {
      scenario: this.scenario.name,
      preemptions: this.o.preemptions,
      stepsMax: this.o.stepsMax,
      seed: this.o.seed,
      shard: this.o.shard,
      explored: count.explored,
      pruned: count.pruned,
      chunks: chunks.length,
      chunksDone,
      elapsedMs: performance.now() - started,
      jobs: this.jobs(),
      interrupted: this.o.signal?.aborted === true,
    };
    if (count.failure !== undefined) report.failure = await this.write(count.failure);
    return report;
  }

  private jobs(): number {
    return Math.max(1, Math.min(this.o.jobs || availableParallelism(), 64));
  }

  /** Explores `chunks` on the pool; the failure of the lowest chunk wins. */
  private async runPool(
    chunks: ExploreItem[][],
    claims: [string, number][],
    count: ExploreCount,
  ): Promise<number> {
    const jobs = this.jobs();
    const pool = new Piscina({
      ...poolTask(srcUrl('main/controlled/explore_task.js')),
      minThreads: jobs,
      maxThreads: jobs,
    });
    const signal = this.o.signal;
    const aborted = (): boolean => signal?.aborted === true;
    const failures = new Map<number, NonNullable<ExploreCount['failure']>>();
    let next = 0;
    let done = 0;
    const options: ExploreRunOptions = {
      preemptions: this.o.preemptions,
      stepsMax: this.o.stepsMax,
      seed: this.o.seed,
      checkEvery: this.o.checkEvery,
    };
    const lane = async (): Promise<void> => {
      while (failures.size === 0 && !aborted() && next < chunks.length) {
        const index = next++;
        const task: ExploreTask = { source: this.source, options, items: chunks[index]!, claims };
        let result: ExploreCount;
        try {
          result = (await pool.run(task, signal ? { signal } : {})) as ExploreCount;
        } catch (error) {
          if (aborted()) return;
          throw error;
        }
        done += 1;
        count.explored += result.explored;
        count.pruned += result.pruned;
        if (result.failure !== undefined) failures.set(index, result.failure);
      }
    };
    try {
      await Promise.all(Array.from({ length: jobs * 2 }, lane));
    } finally {
      await pool.destroy();
    }
    const lowest = Math.min(...failures.keys());
    const failure = failures.get(lowest);
    if (failure !== undefined) count.failure = failure;
    return done;
  }

  private async write(found: NonNullable<ExploreCount['failure']>) {
    const result = found.result;
    const replayPath = await writeFailureReplay(this.o.outDir, this.source, this.scenario, {
      scheduler: 'explore',
      label: `explore-k${found.preemptions}-seed${this.o.seed}`,
      seed: this.o.seed,
      options: { stepsMax: this.o.stepsMax, checkEvery: this.o.checkEvery, interruptPer1024: 0 },
      result,
    });
    return {
      failure: result.failure!,
      preemptions: found.preemptions,
      steps: result.decisions.length,
      replayPath,
    };
  }
}
