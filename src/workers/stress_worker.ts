/**
 * Worker entry: attaches to the machine in workerData.sab and, when asked over comlink,
 * runs a stress workload (stress_workload.ts) or the benchmark's _XchgFreePhysReg chains
 * (chain_workload.ts) as one device. Service calls stay in this thread; only the plan and
 * the result cross the control plane.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { attachKernel } from '../shared/kernel.js';
import type { DeviceContext } from '../shared/services/index.js';
import { runChains, type ChainPlan, type ChainResult } from './chain_workload.js';
import { nodeEndpoint } from './endpoint.js';
import { runStress, type StressPlan, type StressResult } from './stress_workload.js';

const kernel = attachKernel((workerData as { sab: SharedArrayBuffer }).sab);
/** Chain devices by name: a warm-up run and the timed run are the same device. */
const chainDevices = new Map<string, DeviceContext>();

const api = {
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
};
export type StressWorkerApi = typeof api;

Comlink.expose(api, nodeEndpoint(parentPort!));
