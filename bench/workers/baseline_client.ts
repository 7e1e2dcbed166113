/**
 * Worker entry of the benchmark's baseline client: a device that does not touch memory but
 * asks the owner thread (owner_worker.ts) for every service call over its MessagePort, and
 * awaits each answer — the chain needs it for the next call. It walks the same pages in the
 * same order as chain_workload.ts and reports the same figures. It is not a vmmsim actor.
 */
import { type MessagePort, parentPort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { ERROR_DWORD } from '../../src/shared/constants.js';
import { ChainCursor, type ChainPlan, type ChainResult } from '../../src/workers/chain_workload.js';
import { nodeEndpoint } from '../../src/workers/endpoint.js';
import type { BaselineTransport, OwnerServiceApi, ServiceRequest } from './owner_worker.js';

type Exchange = (page: number, physAddr: number) => Promise<number>;

let exchange: Exchange | undefined;

/** A request over raw postMessage: one in flight, answered in order. */
function overPostMessage(port: MessagePort): Exchange {
  let answer: ((value: number) => void) | undefined;
  port.on('message', (value: number) => answer!(value));
  return (page, physAddr) =>
    new Promise<number>((resolve) => {
      answer = resolve;
      const request: ServiceRequest = ['_XchgFreePhysReg', page, physAddr, 0];
      port.postMessage(request);
    });
}

function overComlink(port: MessagePort): Exchange {
  const owner = Comlink.wrap<OwnerServiceApi>(nodeEndpoint(port));
  return (page, physAddr) => owner.call('_XchgFreePhysReg', page, physAddr, 0);
}

const api = {
  /** Takes this client's port to the owner. */
  connect(port: MessagePort, transport: BaselineTransport): void {
    exchange = transport === 'postMessage' ? overPostMessage(port) : overComlink(port);
  },

  /**
   * Runs chains for `windowMs` (or `plan.callsMax` calls), every call a round trip to the
   * owner. A refusal ends the run, as in chain_workload.ts.
   */
  async chains(plan: ChainPlan, windowMs: number): Promise<ChainResult> {
    const xchg = exchange!;
    const cursor = new ChainCursor(plan.windowFirstPage, plan.windowPageCount, plan.seed);
    const callsEnd = plan.callsMax === 0 ? Infinity : plan.callsMax;
    let calls = 0;
    let chains = 0;
    let refusals = 0;
    const start = performance.now();
    const end = start + windowMs;
    while (refusals === 0 && calls < callsEnd && performance.now() < end) {
      let held = await xchg(cursor.next(), 0);
      calls += 1;
      while (held !== 0 && held !== ERROR_DWORD) {
        held = await xchg(cursor.next(), held);
        calls += 1;
      }
      if (held === ERROR_DWORD) refusals += 1;
      chains += 1;
    }
    const elapsedMs = performance.now() - start;
    const firstRefusal = refusals === 0 ? '' : 'refused by the owner';
    return { name: plan.name, actor: -1, calls, chains, refusals, firstRefusal, elapsedMs };
  },
};
export type BaselineClientApi = typeof api;

Comlink.expose(api, nodeEndpoint(parentPort!));
