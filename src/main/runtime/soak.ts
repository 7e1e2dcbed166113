/**
 * The soak: a scenario run again and again on real threads for a bounded time, every other
 * run with one fault injected at a random point inside a critical section (a worker that
 * throws, exits, is terminate()d, hangs, or inverts the lock order). Each run must end, and
 * end classified: sound when no fault fired, the fault's own failure (owner-dead locks named,
 * the hang blamed, the inversion reported) when one did. Anything else is unexplained and
 * fails the soak. It also watches this process's memory across runs.
 * It is not a benchmark: the figures it prints are counts, not speeds.
 */
import type { FaultKind } from '../../shared/protocol.js';
import { FaultKinds } from '../../shared/protocol.js';
import type { RunReport } from './coordinator.js';
import { runScenario } from './run_scenario.js';

export interface SoakOptions {
  /** Stop starting runs after this long. */
  minutes: number;
  /** Stop after this many runs (0: no bound besides the time). */
  runs: number;
  faults: readonly FaultKind[];
  /** A fault in every n-th run (1: every run, 2: every other run). */
  faultEvery: number;
  /** Faults fire at a lock acquisition drawn from 1 to this. */
  injectAtMax: number;
  scenario?: string;
  devices?: number;
  vms?: number;
  calls: number;
  hangSeconds: number;
  seed: number;
  onRun?: (run: SoakRun, summary: SoakSummary) => void;
  /** A garbage collection before each memory sample (the CLI passes V8's). */
  collect?: () => void;
  signal?: AbortSignal;
}

export interface SoakRun {
  index: number;
  seed: number;
  fault?: { kind: FaultKind; at: number; fired: boolean; actor: string };
  outcome: 'sound' | 'classified' | 'unexplained';
  /** What the run ended with: sound, or the failure's kind and message. */
  ended: string;
  ownerDeadLocks: number;
  detectedMs?: number;
  consistentAfterFault?: boolean;
  violations: number;
  ms: number;
}

export interface SoakSummary {
  runs: number;
  sound: number;
  faultsFired: number;
  faultsNotFired: number;
  byKind: Record<string, { fired: number; classified: number }>;
  /** Invariant violations in runs where no fault fired: must stay 0. */
  violationsWithoutFault: number;
  /** Runs that ended some other way than their fault (or lack of one) explains. */
  unexplained: SoakRun[];
  /** Fault runs after which the checker found the state inconsistent (to be expected). */
  inconsistentAfterFault: number;
  /** Milliseconds from a worker's death to its detection (throw, exit, terminate). */
  detectionMs: { count: number; median: number; max: number };
  /**
   * This process's memory after the warm-up runs and at the end. Buffers of finished runs
   * are freed when the garbage collector gets to them: run node with --expose-gc to sample
   * after a collection (then `collected` is true).
   */
  memory: {
    rssStartMB: number;
    rssEndMB: number;
    heapStartMB: number;
    heapEndMB: number;
    arrayBuffersEndMB: number;
    collected: boolean;
  };
  elapsedMs: number;
  interrupted: boolean;
}

const MB = 1024 * 1024;
/** Runs before the memory baseline is taken: module loading and JIT warm-up come first. */
const WARMUP_RUNS = 3;

/** Whether a report is the failure its fault (or lack of one) predicts. */
export function explained(report: RunReport): boolean {
  const f = report.failure;
  const fault = report.fault;
  if (fault === undefined || !fault.fired) return f === undefined && report.violations.length === 0;
  if (f === undefined || f.actor !== fault.actor) return false;
  const ownerDead = (report.ownerDead?.locks.length ?? 0) > 0;
  switch (fault.kind) {
    case 'throw':
      return f.kind === 'threw' && f.message.startsWith('injected fault') && ownerDead;
    case 'exit':
      return f.kind === 'exited' && ownerDead;
    case 'terminate':
      return f.kind === 'terminated' && ownerDead;
    case 'hang':
      return f.kind === 'hung' && report.waitFor !== undefined;
    case 'invert':
      return f.kind === 'threw' && report.violations.some((v) => v.kind === 'lock-order');
  }
}

function describeEnd(report: RunReport): string {
  const f = report.failure;
  const fault = report.fault?.fired === true ? ` (fault in ${report.fault.actor})` : '';
  if (f !== undefined) return `${f.actor} ${f.kind} during ${f.phase}: ${f.message}${fault}`;
  return report.violations.length === 0 ? 'sound' : `${report.violations.length} violation(s)`;
}

function soakRun(index: number, seed: number, report: RunReport, ms: number): SoakRun {
  const fault = report.fault;
  const fired = fault?.fired === true;
  const ok = explained(report);
  return {
    index,
    seed,
    ...(fault === undefined
      ? {}
      : { fault: { kind: fault.kind, at: fault.acquisitions, fired, actor: fault.actor } }),
    outcome: !ok ? 'unexplained' : fired ? 'classified' : 'sound',
    ended: describeEnd(report),
    ownerDeadLocks: report.ownerDead?.locks.length ?? 0,
    ...(report.ownerDead === undefined
      ? {}
      : {
          detectedMs: report.ownerDead.detectedMs,
          consistentAfterFault: report.ownerDead.consistent,
        }),
    violations: report.violations.length,
    ms,
  };
}

function emptySummary(): SoakSummary {
  const mem = process.memoryUsage();
  return {
    runs: 0,
    sound: 0,
    faultsFired: 0,
    faultsNotFired: 0,
    byKind: Object.fromEntries(FaultKinds.map((k) => [k, { fired: 0, classified: 0 }])),
    violationsWithoutFault: 0,
    unexplained: [],
    inconsistentAfterFault: 0,
    detectionMs: { count: 0, median: 0, max: 0 },
    memory: {
      rssStartMB: mem.rss / MB,
      rssEndMB: mem.rss / MB,
      heapStartMB: mem.heapUsed / MB,
      heapEndMB: mem.heapUsed / MB,
      arrayBuffersEndMB: mem.arrayBuffers / MB,
      collected: false,
    },
    elapsedMs: 0,
    interrupted: false,
  };
}

function tally(
  summary: SoakSummary,
  run: SoakRun,
  detections: number[],
  collect: (() => void) | undefined,
): void {
  summary.runs += 1;
  if (run.outcome === 'sound') summary.sound += 1;
  if (run.outcome === 'unexplained' && summary.unexplained.length < 20)
    summary.unexplained.push(run);
  const fired = run.fault?.fired === true;
  if (!fired) summary.violationsWithoutFault += run.violations;
  if (run.fault !== undefined && !fired) summary.faultsNotFired += 1;
  if (fired) {
    summary.faultsFired += 1;
    const kind = summary.byKind[run.fault!.kind]!;
    kind.fired += 1;
    if (run.outcome === 'classified') kind.classified += 1;
    if (run.consistentAfterFault === false) summary.inconsistentAfterFault += 1;
    if (run.detectedMs !== undefined && run.detectedMs >= 0 && run.fault!.kind !== 'hang')
      detections.push(run.detectedMs);
  }
  const sorted = [...detections].sort((a, b) => a - b);
  summary.detectionMs = {
    count: sorted.length,
    median: sorted[Math.floor(sorted.length / 2)] ?? 0,
    max: sorted.at(-1) ?? 0,
  };
  collect?.();
  summary.memory.collected = collect !== undefined;
  const mem = process.memoryUsage();
  if (summary.runs === WARMUP_RUNS) {
    summary.memory.rssStartMB = mem.rss / MB;
    summary.memory.heapStartMB = mem.heapUsed / MB;
  }
  summary.memory.rssEndMB = mem.rss / MB;
  summary.memory.heapEndMB = mem.heapUsed / MB;
  summary.memory.arrayBuffersEndMB = mem.arrayBuffers / MB;
}

/** The acquisition a run's fault fires at: spread over 1..max by the seed. */
const injectAt = (seed: number, max: number): number =>
  1 + ((Math.imul(seed, 0x9e3779b1) >>> 0) % max);

/** A run that has not ended in this long is a hang of the runtime itself: the soak fails. */
const runBoundMs = (o: SoakOptions): number => 120_000 + o.hangSeconds * 4_000;

export class SoakHangError extends Error {
  override name = 'SoakHangError';
}

async function bounded<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new SoakHangError(`a run did not end within ${ms / 1000} s`)),
      ms,
    );
  });
  try {
    return await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs the soak; resolves with the summary when the time or the run count is used up. */
export async function soak(o: SoakOptions): Promise<SoakSummary> {
  const summary = emptySummary();
  const detections: number[] = [];
  const started = performance.now();
  const endAt = started + o.minutes * 60_000;
  for (let index = 0; ; index++) {
    if (performance.now() >= endAt || (o.runs > 0 && index >= o.runs)) break;
    if (o.signal?.aborted === true) {
      summary.interrupted = true;
      break;
    }
    const seed = (o.seed + index) >>> 0;
    const withFault = o.faults.length > 0 && index % o.faultEvery === o.faultEvery - 1;
    const kind = o.faults[Math.floor(index / o.faultEvery) % Math.max(o.faults.length, 1)]!;
    const runStart = performance.now();
    const report = await bounded(
      runScenario(o.scenario, {
        seed,
        calls: o.calls,
        hangSeconds: o.hangSeconds,
        ...(o.devices === undefined ? {} : { devices: o.devices }),
        ...(o.vms === undefined ? {} : { vms: o.vms }),
        ...(withFault ? { inject: kind, injectAt: injectAt(seed, o.injectAtMax) } : {}),
      }),
      runBoundMs(o),
    );
    const run = soakRun(index, seed, report, performance.now() - runStart);
    tally(summary, run, detections, o.collect ?? (globalThis as { gc?: () => void }).gc);
    summary.elapsedMs = performance.now() - started;
    o.onRun?.(run, summary);
  }
  summary.elapsedMs = performance.now() - started;
  return summary;
}

/** The summary as text. */
export function formatSoak(s: SoakSummary): string {
  const f = (x: number): string => x.toFixed(1);
  const lines = [
    `vmmsim soak: ${s.runs} runs in ${(s.elapsedMs / 1000).toFixed(0)} s` +
      (s.interrupted ? ' (INTERRUPTED)' : ''),
    `  sound runs: ${s.sound}; faults fired: ${s.faultsFired} (${s.faultsNotFired} armed but ` +
      `not reached: the run took fewer locks)`,
    ...Object.entries(s.byKind)
      .filter(([, k]) => k.fired > 0)
      .map(([kind, k]) => `    ${kind.padEnd(9)} fired ${k.fired}, classified ${k.classified}`),
    `  invariant violations in runs without a fault: ${s.violationsWithoutFault}`,
    `  unexplained outcomes: ${s.unexplained.length}`,
    ...s.unexplained.slice(0, 5).map((r) => `    run ${r.index} (seed ${r.seed}): ${r.ended}`),
    `  state inconsistent after the fault (the checker's verdict): ${s.inconsistentAfterFault}` +
      ` of ${s.faultsFired}`,
    `  death to detection: median ${s.detectionMs.median} ms, max ${s.detectionMs.max} ms ` +
      `(${s.detectionMs.count} deaths)`,
    `  memory after ${WARMUP_RUNS} runs → at the end: rss ${f(s.memory.rssStartMB)} → ` +
      `${f(s.memory.rssEndMB)} MB, heap ${f(s.memory.heapStartMB)} → ` +
      `${f(s.memory.heapEndMB)} MB, array buffers at the end ${f(s.memory.arrayBuffersEndMB)} MB` +
      (s.memory.collected
        ? ' (sampled after a collection)'
        : ' (run node --expose-gc to sample after a collection)'),
  ];
  return lines.join('\n');
}
