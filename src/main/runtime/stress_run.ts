/**
 * The stress run: a fresh machine, free physical regions made during init, then one worker
 * thread per device hammering the services on the shared buffer (stress_workload.ts), and
 * the checker at the end. Used by `vmmsim run` until scenarios arrive, and by tests.
 * It is not the scenario coordinator: no control messages reach the workers.
 */
import * as Comlink from 'comlink';
import type { Worker } from 'node:worker_threads';
import type { Violation } from '../../shared/checker.js';
import type { LockingPolicy } from '../../shared/config.js';
import { PageMapFreePhysReg, PG_SYS } from '../../shared/constants.js';
import { createKernel, type Kernel } from '../../shared/kernel.js';
import { lockStats } from '../../shared/lock.js';
import { nodeEndpoint } from '../../workers/endpoint.js';
import { spawnWorker } from '../../workers/spawn.js';
import type { StressWorkerApi } from '../../shared/protocol.js';
import type { StressResult } from '../../workers/stress_workload.js';

export interface StressRunOptions {
  workers: number;
  callsPerWorker: number;
  locking: LockingPolicy;
  seed: number;
  sharedRegion: boolean;
  regionPages: number;
  ramPages: number;
}

export interface StressRunReport {
  options: StressRunOptions;
  elapsedMs: number;
  calls: number;
  opsPerSecond: number;
  byService: Record<string, number>;
  failures: Record<string, number>;
  dataChecks: number;
  errors: string[];
  locks: {
    name: string;
    contended: number;
    waits: number;
    waitUsTotal: number;
    acquisitions: number;
  }[];
  violations: Violation[];
}

function boot(o: StressRunOptions): { kernel: Kernel; regions: number[] } {
  const kernel = createKernel({ ramPages: o.ramPages, locking: o.locking });
  const setup = kernel.device('SETUP', { initOrder: 0 });
  kernel.systemControl('Sys_Critical_Init');
  const regions: number[] = [];
  for (let i = 0; i < (o.sharedRegion ? 1 : o.workers); i++) {
    const { eax } = setup._PageAllocate(o.regionPages, PG_SYS, 0, 0, 0, 0, 0, PageMapFreePhysReg);
    if (eax === 0)
      throw new Error(`cannot create a free physical region: ${setup.lastError?.reason}`);
    regions.push(eax >>> 12);
  }
  kernel.systemControl('Device_Init');
  kernel.systemControl('Init_Complete');
  kernel.systemControl('Sys_VM_Init');
  return { kernel, regions };
}

function merge(results: StressResult[], key: 'byService' | 'failures'): Record<string, number> {
  const merged: Record<string, number> = {};
  for (const r of results)
    for (const [k, v] of Object.entries(r[key])) merged[k] = (merged[k] ?? 0) + v;
  return merged;
}

/** Runs the stress workload on `workers` real threads; the workers are always stopped. */
export async function runStressWorkers(o: StressRunOptions): Promise<StressRunReport> {
  const { kernel, regions } = boot(o);
  const workers: Worker[] = [];
  const start = performance.now();
  try {
    const runs = Array.from({ length: o.workers }, (_, i) => {
      const worker = spawnWorker('stress_worker', { sab: kernel.sab });
      workers.push(worker);
      const api = Comlink.wrap<StressWorkerApi>(nodeEndpoint(worker));
      const plan = {
        name: `DEV${i}`,
        seed: o.seed + i,
        calls: o.callsPerWorker,
        regionFirstPage: regions[o.sharedRegion ? 0 : i]!,
        regionPageCount: o.regionPages,
        shared: o.sharedRegion,
        sharers: o.sharedRegion ? o.workers : 1,
      };
      return api.run(plan, i + 1);
    });
    const results = await Promise.all(runs);
    const elapsedMs = performance.now() - start;
    const calls = results.reduce((n, r) => n + r.calls, 0);
    return {
      options: o,
      elapsedMs,
      calls,
      opsPerSecond: calls / (elapsedMs / 1000),
      byService: merge(results, 'byService'),
      failures: merge(results, 'failures'),
      dataChecks: results.reduce((n, r) => n + r.dataChecks, 0),
      errors: results.flatMap((r) => r.errors),
      locks: lockStats(kernel.layout).map((s) => ({ ...s, acquisitions: s.epoch })),
      violations: kernel.check({ final: true }),
    };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
