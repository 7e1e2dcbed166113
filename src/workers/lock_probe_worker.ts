/**
 * Worker entry for the lock-level reliability tests: one device context that takes kernel
 * locks on command, so that a test can build a real deadlock between threads or have a
 * thread die holding a lock, and watch what the other threads and the wait-for graph see.
 * It runs no service; it is not part of a scenario run.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { attachKernel } from '../shared/kernel.js';
import { futexWait, futexWake } from '../shared/lock.js';
import { nodeEndpoint } from './endpoint.js';

const kernel = attachKernel((workerData as { sab: SharedArrayBuffer }).sab);
const dev = kernel.device((workerData as { name: string }).name);
/** Word 0 of the scenario words: how many probes have taken their first locks. */
const barrier = kernel.layout.scenarioWords;

/** Takes `locks` in order, then counts itself in and waits (bounded) for `parties`. */
function holdAndMeet(locks: number[], parties: number): void {
  for (const lockId of locks) dev.locker.acquire(lockId);
  Atomics.add(barrier, 0, 1);
  futexWake(barrier, 0);
  const until = performance.now() + 5_000;
  for (let seen = Atomics.load(barrier, 0); seen < parties; seen = Atomics.load(barrier, 0)) {
    if (performance.now() > until) throw new Error('probe: the other probes never came');
    futexWait(barrier, 0, seen, 50);
  }
}

export interface ProbeOutcome {
  outcome: string;
  message: string;
  waitedMs: number;
}

const api = {
  actor(): number {
    return dev.actor;
  },
  /** Holds `locks`, meets the others, then takes `next`: what happened and how long it took. */
  holdThenTake(locks: number[], parties: number, next: number): ProbeOutcome {
    holdAndMeet(locks, parties);
    const start = performance.now();
    try {
      dev.locker.acquire(next);
      return { outcome: 'acquired', message: '', waitedMs: performance.now() - start };
    } catch (error) {
      const e = error as Error;
      return { outcome: e.name, message: e.message, waitedMs: performance.now() - start };
    }
  },
  /** Holds `locks`, meets the others, and ends its thread without releasing them. */
  holdThenExit(locks: number[], parties: number): void {
    holdAndMeet(locks, parties);
    process.exit(3);
  },
};
export type LockProbeApi = typeof api;

Comlink.expose(api, nodeEndpoint(parentPort!));
