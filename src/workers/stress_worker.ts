/**
 * Worker entry: attaches to the machine in workerData.sab and, when asked over comlink,
 * runs a stress workload (stress_workload.ts), or for the benchmark _XchgFreePhysReg chains
 * (chain_workload.ts) as one device or the machine-ceiling spin. Service calls stay in this
 * thread; only the plan and the result cross the control plane.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { attachKernel } from '../shared/kernel.js';
import { stopRequested, type StressWorkerApi } from '../shared/protocol.js';
import type { DeviceContext } from '../shared/services/index.js';
import { runChains, type ChainPlan, type ChainResult } from './chain_workload.js';
import { nodeEndpoint } from './endpoint.js';
import { runStress, type StressPlan, type StressResult } from './stress_workload.js';

const kernel = attachKernel((workerData as { sab: SharedArrayBuffer }).sab);
/** Chain devices by name: a warm-up run and the timed run are the same device. */
const chainDevices = new Map<string, DeviceContext>();

const api: StressWorkerApi = {
  run(plan: StressPlan, writer: number): StressResult {
    return runStress(kernel, plan, writer);
  },
  /** Chains until the machine's stop word is set (the benchmark's timed window). */
  chains(plan: ChainPlan): ChainResult {
    let dev = chainDevices.get(plan.name);
    if (dev === undefined) {
      dev = kernel.device(plan.name);
      chainDevices.set(plan.name, dev);
    }
    return runChains(dev, plan);
  },
  /**
   * The machine's ceiling for the scaling benchmark: integer work on nothing shared until
   * the stop word is set (or `iterationsMax`, a warm-up, is reached). What N of these threads
   * get done is what N threads can get done here.
   */
  spin(iterationsMax: number): { iterations: number; elapsedMs: number } {
    const l = kernel.layout;
    const end = iterationsMax === 0 ? Infinity : iterationsMax;
    let x = 1;
    let iterations = 0;
    const start = performance.now();
    while (!stopRequested(l) && iterations < end) {
      for (let i = 0; i < 4096; i++) x = (Math.imul(x, 1664525) + 1013904223) | 0;
      iterations += 4096;
    }
    return { iterations: iterations + (x & 0), elapsedMs: performance.now() - start };
  },
};

/** Declared in protocol.ts with every other crossing; named here for the tests that spawn it. */
export type { StressWorkerApi };

Comlink.expose(api, nodeEndpoint(parentPort!));
