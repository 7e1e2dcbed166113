/**
 * Worker entry: attaches to the machine in workerData.sab and, when asked over comlink,
 * runs a stress workload (stress_workload.ts) or the benchmark's _XchgFreePhysReg chains
 * (chain_workload.ts) as one device. Service calls stay in this thread; only the plan and
 * the result cross the control plane.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { attachKernel } from '../shared/kernel.js';
import { runChains, type ChainPlan, type ChainResult } from './chain_workload.js';
import { nodeEndpoint } from './endpoint.js';
import { runStress, type StressPlan, type StressResult } from './stress_workload.js';

const kernel = attachKernel((workerData as { sab: SharedArrayBuffer }).sab);

const api = {
  run(plan: StressPlan, writer: number): StressResult {
    return runStress(kernel, plan, writer);
  },
  /** Chains until the machine's stop word is set (the benchmark's timed window). */
  chains(plan: ChainPlan): ChainResult {
    return runChains(kernel, plan);
  },
};
export type StressWorkerApi = typeof api;

Comlink.expose(api, nodeEndpoint(parentPort!));
