/**
 * `vmmsim hunt`: many seeded controlled runs of one scenario, in parallel on a piscina pool
 * (one run per seed, batches of seeds per task). Each failure is replayed once more on this
 * thread to prove it deterministic, then written as a replay file. It stops at the first
 * failure unless asked to keep going, and can take one shard of the seed space. Aborting its
 * signal (Ctrl-C) stops the pool: the batches in flight are dropped, the failures found so far
 * are still replayed and written, and the report says it was interrupted.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import type { ScenarioDefinition } from '../../shared/scenario/scenario.js';
import { poolTask } from '../../workers/spawn.js';
import { srcUrl } from '../../shared/module_url.js';
import type { ScenarioSource } from '../../shared/protocol.js';
import type { HuntRunResult, HuntTask } from './hunt_task.js';
import { type ControlledFailure, type ControlledResult, runControlled } from './controlled.js';
import { replayHead, type ReplayFile, writeReplayFile } from './replay_file.js';
import { ReplayScheduler } from './schedulers/replay.js';

export interface HuntOptions {
  runs: number;
  seedStart: number;
  scheduler: 'pct' | 'random';
  depth: number;
  stepsMax: number;
  checkEvery: number;
  interruptPer1024: number;
  keepGoing: boolean;
  shard: { index: number; count: number };
  jobs: number;
  outDir: string;
  onProgress?: (done: number, total: number, failures: number) => void;
  /** Aborting stops the hunt early (the pool's running tasks too); the report says so. */
  signal?: AbortSignal;
}

export interface FoundFailure {
  seed: number;
  steps: number;
  failure: ControlledFailure;
  deterministic: boolean;
  replayPath: string;
  /** Runs of this hunt that failed the same way (same signature). */
  hits: number;
  /** Which run of this shard it was (1: the first), and when its batch came back. */
  runIndex: number;
  atMs: number;
}

export interface HuntReport {
  scenario: string;
  /** Runs finished; fewer than runsPlanned when a failure or an interrupt stopped the hunt. */
  runs: number;
  /** Runs this hunt (this shard) was asked for. */
  runsPlanned: number;
  /** The signal stopped the hunt (SIGINT or SIGTERM on the command line). */
  interrupted: boolean;
  elapsedMs: number;
  runsPerSecond: number;
  jobs: number;
  scheduler: 'pct' | 'random';
  depth: number;
  shard: { index: number; count: number };
  failures: FoundFailure[];
}

const BATCH = 20;

/** The seeds of this shard, in order. */
export function shardSeeds(o: Pick<HuntOptions, 'runs' | 'seedStart' | 'shard'>): number[] {
  const seeds: number[] = [];
  for (let k = 0; k < o.runs; k++)
    if (k % o.shard.count === o.shard.index) seeds.push(o.seedStart + k);
  return seeds;
}

/** A failure's signature: its kind and message with the numbers taken out. */
export function signature(failure: ControlledFailure): string {
  return `${failure.kind}:${failure.message.replace(/[0-9A-Fa-f]+h\b|\d+/g, '#')}`;
}

export class Hunt {
  private readonly found: FoundFailure[] = [];
  private readonly signatures = new Set<string>();
  private readonly candidates: (HuntRunResult & { runIndex: number; atMs: number })[] = [];
  private readonly hits = new Map<string, number>();
  private stop = false;

  constructor(
    private readonly source: ScenarioSource,
    private readonly scenario: ScenarioDefinition,
    private readonly o: HuntOptions,
  ) {}

  async run(): Promise<HuntReport> {
    const seeds = shardSeeds(this.o);
    const jobs = Math.max(1, Math.min(this.o.jobs || availableParallelism(), 64));
    const started = performance.now();
    const done = await this.runPool(seeds, jobs);
    // The lowest seed of each distinct failure (of the first one only, unless keepGoing):
    // the batches in flight when the first failure arrived are finished and compared too.
    this.candidates.sort((a, b) => a.seed - b.seed);
    for (const c of this.candidates) {
      if (!this.o.keepGoing && this.found.length > 0) break;
      await this.onFailure(c, c.found!);
    }
    const elapsedMs = performance.now() - started;
    return {
      scenario: this.scenario.name,
      runs: done,
      runsPlanned: seeds.length,
      interrupted: this.o.signal?.aborted === true,
      elapsedMs,
      jobs,
      scheduler: this.o.scheduler,
      depth: this.o.depth,
      shard: this.o.shard,
      runsPerSecond: done / Math.max(elapsedMs / 1000, 0.001),
      failures: this.found,
    };
  }

  /** Runs the seeds in batches on `jobs` pool threads; returns how many runs finished. */
  private async runPool(seeds: number[], jobs: number): Promise<number> {
    const pool = new Piscina({
      ...poolTask(srcUrl('main/controlled/hunt_task.js')),
      minThreads: jobs,
      maxThreads: jobs,
    });
    const started = performance.now();
    const runIndex = new Map(seeds.map((seed, i) => [seed, i + 1]));
    const signal = this.o.signal;
    const aborted = (): boolean => signal?.aborted === true;
    const batches: number[][] = [];
    for (let i = 0; i < seeds.length; i += BATCH) batches.push(seeds.slice(i, i + BATCH));
    let next = 0;
    let done = 0;
    const lane = async (): Promise<void> => {
      while (!this.stop && !aborted() && next < batches.length) {
        const task = this.task(batches[next++]!);
        let results: HuntRunResult[];
        try {
          results = (await pool.run(task, signal ? { signal } : {})) as HuntRunResult[];
        } catch (error) {
          if (aborted()) return; // a batch cut short by the interrupt: dropped
          throw error;
        }
        done += results.length;
        const atMs = performance.now() - started;
        for (const r of results) {
          if (r.found === undefined) continue;
          this.candidates.push({ ...r, runIndex: runIndex.get(r.seed)!, atMs });
          const key = signature(r.found.failure!);
          this.hits.set(key, (this.hits.get(key) ?? 0) + 1);
        }
        if (this.candidates.length > 0 && !this.o.keepGoing) this.stop = true;
        this.o.onProgress?.(done, seeds.length, this.candidates.length);
      }
    };
    try {
      await Promise.all(Array.from({ length: jobs * 2 }, lane));
    } finally {
      await pool.destroy();
    }
    return done;
  }

  private task(seeds: number[]): HuntTask {
    return {
      source: this.source,
      seeds,
      scheduler: this.o.scheduler,
      depth: this.o.depth,
      options: {
        stepsMax: this.o.stepsMax,
        checkEvery: this.o.checkEvery,
        interruptPer1024: this.o.interruptPer1024,
      },
    };
  }

  /** Replays a failure once more here; writes its replay file when it is a new one. */
  private async onFailure(
    at: { seed: number; runIndex: number; atMs: number },
    found: ControlledResult,
  ): Promise<void> {
    const failure = found.failure!;
    const key = signature(failure);
    if (this.signatures.has(key)) return;
    this.signatures.add(key);
    const seed = at.seed;
    const options = {
      stepsMax: this.o.stepsMax,
      checkEvery: this.o.checkEvery,
      interruptPer1024: this.o.interruptPer1024,
    };
    const again = await runControlled(
      this.scenario,
      { ...options, seed },
      new ReplayScheduler(found.decisions, found.actorNames),
    );
    const deterministic =
      again.traceHash === found.traceHash &&
      again.failure?.kind === failure.kind &&
      again.failure?.message === failure.message;
    const schedulerName = this.o.scheduler === 'pct' ? `pct${this.o.depth}` : 'random';
    const replayPath = await writeFailureReplay(this.o.outDir, this.source, this.scenario, {
      scheduler: this.o.scheduler,
      label: `${schedulerName}-seed${seed}`,
      seed,
      options,
      result: found,
    });
    const hits = this.hits.get(key) ?? 1;
    this.found.push({ ...at, steps: found.steps, failure, deterministic, replayPath, hits });
  }
}

/** A replay file's name: the scenario's name, then `label`; never over a different file. */
export function replayPathFor(outDir: string, scenarioName: string, label: string): string {
  const slug = scenarioName
    .replace(/[^a-z0-9]+/gi, '-')
    .replace(/^-|-$/g, '')
    .toLowerCase();
  return join(outDir, `${slug}-${label}.replay.json`);
}

/**
 * Writes the replay file of a failing controlled run under `outDir` and returns its path.
 * A file of that name that holds another schedule is kept: the new one gets `-2`, `-3`, ….
 */
export async function writeFailureReplay(
  outDir: string,
  source: ScenarioSource,
  scenario: ScenarioDefinition,
  w: {
    scheduler: ReplayFile['scheduler'];
    label: string;
    seed: number;
    options: ReplayFile['options'];
    result: ControlledResult;
  },
): Promise<string> {
  mkdirSync(outDir, { recursive: true });
  const replay: ReplayFile = {
    ...replayHead(source, scenario.name),
    scheduler: w.scheduler,
    seed: w.seed,
    options: w.options,
    decisions: w.result.decisions,
    actorNames: w.result.actorNames,
    traceHash: w.result.traceHash,
    failure: w.result.failure!,
  };
  const base = replayPathFor(outDir, scenario.name, w.label);
  for (let n = 1; ; n++) {
    const path = n === 1 ? base : base.replace(/\.replay\.json$/, `-${n}.replay.json`);
    if (!existsSync(path) || sameSchedule(path, replay)) {
      writeReplayFile(path, replay);
      return path;
    }
  }
}

/** Whether the replay file at `path` holds the same schedule and failure as `replay`. */
function sameSchedule(path: string, replay: ReplayFile): boolean {
  try {
    const old = JSON.parse(readFileSync(path, 'utf8')) as Partial<ReplayFile>;
    return (
      old.seed === replay.seed &&
      old.traceHash === replay.traceHash &&
      JSON.stringify(old.decisions) === JSON.stringify(replay.decisions)
    );
  } catch {
    return false;
  }
}
