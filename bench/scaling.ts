/**
 * Scaling: service calls per second on real threads as the worker count grows, for (a) each
 * worker chaining _XchgFreePhysReg in a region of its own, (b) every worker in one shared
 * region, (c) the default scenario's mix — under both locking policies. Each point is a
 * fresh machine and fresh workers, a warm-up, then a timed window ended by the stop word.
 * It measures throughput and fairness, not one call's cost (micro.ts does that).
 */
import type * as Comlink from 'comlink';
import { availableParallelism } from 'node:os';
import type { LockingPolicy } from '../src/shared/config.js';
import type { Kernel } from '../src/shared/kernel.js';
import { actorLoad } from '../src/shared/actor_record.js';
import { lockStats } from '../src/shared/lock.js';
import {
  bootChainMachine,
  type ChainPlan,
  type ChainResult,
} from '../src/workers/chain_workload.js';
import { setStop, type StressWorkerApi } from '../src/shared/protocol.js';
import { cpuSample, foreignLoad } from './env.js';
import { runMixPoint } from './mix.js';
import { Threads } from './threads.js';
import { AC } from '../src/shared/layout.js';

export type ScalingMode = 'own' | 'shared' | 'mix';

export interface LockFigures {
  acquisitions: number;
  /** Acquisitions that missed the fast path and spun or slept. */
  contended: number;
  /** Atomics.wait calls (sleeps) on lock words. */
  waits: number;
  waitUs: number;
}

export interface ScalingPoint {
  mode: ScalingMode;
  locking: LockingPolicy;
  workers: number;
  calls: number;
  windowMs: number;
  opsPerSecond: number;
  perWorkerCalls: number[];
  /** Fewest calls of one worker over most calls of one worker, in the same window. */
  fairness: number;
  locks: LockFigures;
  /** Calls per second of every repeat; the point is the median one. */
  repeats?: number[];
  /** Share of all cores that other processes used while this point ran (Linux only). */
  foreignLoad?: number;
}

export interface ChainPointOptions {
  mode: 'own' | 'shared';
  locking: LockingPolicy;
  workers: number;
  /** Calls each worker makes alone before the joint warm-up of warmupMs. */
  warmupCalls: number;
  warmupMs: number;
  windowMs: number;
}

export const WINDOW_PAGES = 64;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function lockTotals(k: Kernel): LockFigures {
  const figures = { acquisitions: 0, contended: 0, waits: 0, waitUs: 0 };
  for (const s of lockStats(k.layout)) {
    figures.acquisitions += s.epoch;
    figures.contended += s.contended;
    figures.waits += s.waits;
    figures.waitUs += s.waitUsTotal;
  }
  return figures;
}

function lockDelta(after: LockFigures, before: LockFigures): LockFigures {
  return {
    acquisitions: after.acquisitions - before.acquisitions,
    contended: after.contended - before.contended,
    waits: after.waits - before.waits,
    waitUs: after.waitUs - before.waitUs,
  };
}

/**
 * One window of chains on every worker: stop word cleared, run, set after `ms`. With `ms` 0
 * the stop word stays set: every worker loads, makes its device and returns at once.
 */
async function chainWindow(
  threads: Threads,
  kernel: Kernel,
  apis: Comlink.Remote<StressWorkerApi>[],
  plans: ChainPlan[],
  ms: number,
): Promise<{ results: ChainResult[]; elapsedMs: number }> {
  setStop(kernel.layout, ms === 0);
  const start = performance.now();
  const runs = apis.map((api, i) => api.chains(plans[i]!));
  await sleep(ms);
  setStop(kernel.layout, true);
  const elapsedMs = performance.now() - start;
  const results = await threads.guard(Promise.all(runs));
  return { results, elapsedMs };
}

/**
 * Loads every worker, warms each up alone (V8 optimizes a thread's hot path on background
 * threads; with more busy workers than cores they starve, and a window would measure V8's
 * tiering, not vmmsim), then all together. Returns the ready results (actor ids).
 */
async function warmUp(
  threads: Threads,
  kernel: Kernel,
  apis: Comlink.Remote<StressWorkerApi>[],
  plans: ChainPlan[],
  o: ChainPointOptions,
): Promise<ChainResult[]> {
  const ready = await chainWindow(threads, kernel, apis, plans, 0);
  setStop(kernel.layout, false);
  for (let i = 0; i < apis.length; i++)
    await threads.guard(apis[i]!.chains({ ...plans[i]!, callsMax: o.warmupCalls }));
  await chainWindow(threads, kernel, apis, plans, o.warmupMs);
  return ready.results;
}

/** Throws unless the window's calls all succeeded and every count agrees with the buffer. */
function verifyChains(
  kernel: Kernel,
  results: ChainResult[],
  actorCallsBefore: number[],
  locks: LockFigures,
  label: string,
): void {
  const total = results.reduce((n, r) => n + r.calls, 0);
  results.forEach((r, i) => {
    if (r.refusals > 0) throw new Error(`${label}: ${r.name} was refused: ${r.firstRefusal}`);
    if (r.calls === 0) throw new Error(`${label}: ${r.name} made no call in the window`);
    const word = actorLoad(kernel.layout, r.actor, AC.calls) - actorCallsBefore[i]!;
    if (word !== r.calls)
      throw new Error(`${label}: ${r.name} counted ${r.calls} calls, the buffer ${word}`);
  });
  if (locks.acquisitions !== total)
    throw new Error(`${label}: ${total} calls but ${locks.acquisitions} lock acquisitions`);
  const violations = kernel.check({ final: true });
  if (violations.length > 0) throw new Error(`${label}: checker: ${violations[0]!.message}`);
}

/** Measures one (mode, policy, worker count) point of the chain workload. */
export async function runChainPoint(o: ChainPointOptions): Promise<ScalingPoint> {
  const label = `scaling ${o.mode}/${o.locking}/${o.workers}`;
  const { kernel, windows } = bootChainMachine({
    windowCount: o.mode === 'own' ? o.workers : 1,
    windowPageCount: WINDOW_PAGES,
    locking: o.locking,
  });
  if (o.mode === 'own' && new Set(windows.map((w) => w.lockId)).size !== windows.length)
    throw new Error(`${label}: two windows share a page-table lock`);
  const threads = new Threads(label);
  try {
    const apis = Array.from({ length: o.workers }, () =>
      threads.spawn<StressWorkerApi>('stress_worker', { sab: kernel.sab }),
    );
    const plans = apis.map((_, i) => {
      const w = windows[o.mode === 'own' ? i : 0]!;
      return {
        name: `DEV${i}`,
        windowFirstPage: w.firstPage,
        windowPageCount: w.pageCount,
        seed: i + 1,
        callsMax: 0,
      };
    });
    const ready = await warmUp(threads, kernel, apis, plans, o);
    const actors = ready.map((r) => r.actor);
    const callsBefore = actors.map((a) => actorLoad(kernel.layout, a, AC.calls));
    const locksBefore = lockTotals(kernel);
    const { results, elapsedMs } = await chainWindow(threads, kernel, apis, plans, o.windowMs);
    const locks = lockDelta(lockTotals(kernel), locksBefore);
    verifyChains(kernel, results, callsBefore, locks, label);
    const perWorkerCalls = results.map((r) => r.calls);
    const calls = perWorkerCalls.reduce((n, c) => n + c, 0);
    return {
      mode: o.mode,
      locking: o.locking,
      workers: o.workers,
      calls,
      windowMs: elapsedMs,
      opsPerSecond: calls / (elapsedMs / 1000),
      perWorkerCalls,
      fairness: Math.min(...perWorkerCalls) / Math.max(...perWorkerCalls),
      locks,
    };
  } finally {
    await threads.stop();
  }
}

export interface ScalingOptions {
  workerCounts: number[];
  modes: ScalingMode[];
  policies: LockingPolicy[];
  /** Measurements of every point, interleaved (a burst of noise hits different points). */
  repeats: number;
  warmupCalls: number;
  warmupMs: number;
  windowMs: number;
  /** Called after each measurement, for progress lines. */
  onPoint?: (point: ScalingPoint) => void;
  /** Called as each repeat starts (the ceiling is measured there, in the same rhythm). */
  onRepeat?: (repeat: number) => Promise<void>;
}

const pick = (
  o: ScalingOptions,
): Pick<ChainPointOptions, 'warmupCalls' | 'warmupMs' | 'windowMs'> => ({
  warmupCalls: o.warmupCalls,
  warmupMs: o.warmupMs,
  windowMs: o.windowMs,
});

/** Other processes' share of the cores above which a repeat counts as disturbed. */
const DISTURBED = 0.05;

/**
 * The measurement with the median rate. Repeats during which other processes used the
 * cores are set aside when an undisturbed one exists: they measure the neighbours, not
 * vmmsim (every repeat's rate stays in the JSON record).
 */
export function medianRepeat<T extends { foreignLoad?: number }>(
  measured: T[],
  rate: (item: T) => number,
): T {
  const clean = measured.filter((p) => (p.foreignLoad ?? 0) <= DISTURBED);
  const sorted = [...(clean.length > 0 ? clean : measured)].sort((a, b) => rate(a) - rate(b));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

function median(measured: ScalingPoint[]): ScalingPoint {
  const middle = medianRepeat(measured, (p) => p.opsPerSecond);
  return { ...middle, repeats: measured.map((p) => p.opsPerSecond) };
}

/** Every point of the sweep, in mode, policy, worker-count order: each the median repeat. */
export async function runScaling(o: ScalingOptions): Promise<ScalingPoint[]> {
  const keys = o.modes.flatMap((mode) =>
    o.policies.flatMap((locking) => o.workerCounts.map((workers) => ({ mode, locking, workers }))),
  );
  const measured: ScalingPoint[][] = keys.map(() => []);
  for (let repeat = 0; repeat < o.repeats; repeat++) {
    await o.onRepeat?.(repeat);
    for (const [i, { mode, locking, workers }] of keys.entries()) {
      const before = cpuSample();
      const point =
        mode === 'mix'
          ? await runMixPoint({ locking, workers, windowMs: o.windowMs })
          : await runChainPoint({ mode, locking, workers, ...pick(o) });
      const foreign = foreignLoad(before, cpuSample(), availableParallelism());
      if (foreign !== undefined) point.foreignLoad = foreign;
      measured[i]!.push(point);
      o.onPoint?.(point);
    }
  }
  return measured.map(median);
}
