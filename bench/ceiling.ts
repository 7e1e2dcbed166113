/**
 * The machine's ceiling beside the scaling curves: what N threads that share nothing get
 * done on these cores (an integer loop, no memory in common). Own-region scaling is read
 * against it — on a VM whose cores are busy elsewhere, two threads may get much less than
 * twice one. It measures the machine, not vmmsim.
 */
import { createKernel } from '../src/shared/kernel.js';
import { setStop, type StressWorkerApi } from '../src/shared/protocol.js';
import { Threads } from './threads.js';

export interface CeilingPoint {
  workers: number;
  /** Spin-loop iterations per second: work that shares nothing. */
  iterationsPerSecond: number;
  fairness: number;
  /** Share of all cores that other processes used meanwhile (Linux only). */
  foreignLoad?: number;
}

/** Iterations each thread runs alone before the window, so that V8 has optimized the loop. */
const SPIN_WARMUP_ITERATIONS = 50_000_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One window of `workers` spinning threads, started and stopped by the stop word. */
export async function runCeilingPoint(workers: number, windowMs: number): Promise<CeilingPoint> {
  const label = `ceiling/${workers}`;
  const kernel = createKernel({ ramPages: 448 }); // only its stop word is used
  const threads = new Threads(label);
  try {
    const apis = Array.from({ length: workers }, () =>
      threads.spawn<StressWorkerApi>('stress_worker', { sab: kernel.sab }),
    );
    // Each thread warmed up alone first, as the chains are (scaling.ts, warmUp).
    for (const api of apis) await threads.guard(api.spin(SPIN_WARMUP_ITERATIONS));
    const start = performance.now();
    const runs = apis.map((api) => api.spin(0));
    await sleep(windowMs);
    setStop(kernel.layout, true);
    const elapsedMs = performance.now() - start;
    const each = (await threads.guard(Promise.all(runs))).map((r) => r.iterations);
    if (each.some((n) => n === 0)) throw new Error(`${label}: a thread never ran`);
    const total = each.reduce((n, c) => n + c, 0);
    return {
      workers,
      iterationsPerSecond: total / (elapsedMs / 1000),
      fairness: Math.min(...each) / Math.max(...each),
    };
  } finally {
    await threads.stop();
  }
}
