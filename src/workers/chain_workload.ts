/**
 * The benchmark's hot path as a workload: _XchgFreePhysReg chains (seed 001) over a window of
 * pages of one free physical region, until the stop word is set. It runs the same in a
 * worker (stress_worker.ts) and in-process; the message-passing baseline (baseline_client.ts)
 * walks the same pages in the same order. It is not the stress workload: nothing is checked
 * between calls (that would be what is timed); the caller checks the machine at the end.
 */
import { ERROR_DWORD } from '../shared/constants.js';
import type { Kernel } from '../shared/kernel.js';
import { H } from '../shared/layout.js';

export interface ChainPlan {
  name: string;
  /** The window of region pages this device moves frames in. */
  windowFirstPage: number;
  windowPageCount: number;
  /** Where in the window this device starts, so that sharers do not walk in step. */
  startOffset: number;
}

export interface ChainResult {
  name: string;
  actor: number;
  /** _XchgFreePhysReg calls made (every call this device made). */
  calls: number;
  chains: number;
  /** Calls that returned 0FFFFFFFFh: none on a sound run. */
  refusals: number;
  firstRefusal: string;
  elapsedMs: number;
}

/** Pages a chain visits: a fixed odd stride through the window, so every page comes up. */
export class ChainCursor {
  private offset: number;
  private readonly stride: number;

  constructor(
    private readonly first: number,
    private readonly count: number,
    startOffset: number,
  ) {
    this.offset = startOffset % count;
    // An odd stride visits every page of a power-of-two window; 1 otherwise.
    this.stride = (count & (count - 1)) === 0 && count > 8 ? 7 : 1;
  }

  next(): number {
    this.offset += this.stride;
    if (this.offset >= this.count) this.offset -= this.count;
    return this.first + this.offset;
  }
}

/**
 * Runs chains until the stop word of `kernel` is set: each takes a page out (the frame is
 * then held by this device) and moves frames along until a call puts the held frame into a
 * page that was not present (it returns 0). A refusal ends the run: the frame it held would
 * be lost, and the checker says so.
 */
export function runChains(kernel: Kernel, plan: ChainPlan): ChainResult {
  const dev = kernel.device(plan.name);
  const header = kernel.layout.header;
  const cursor = new ChainCursor(plan.windowFirstPage, plan.windowPageCount, plan.startOffset);
  let chains = 0;
  let refusals = 0;
  const start = performance.now();
  while (refusals === 0 && Atomics.load(header, H.stop) === 0) {
    let held = dev._XchgFreePhysReg(cursor.next(), 0, 0);
    while (held !== 0 && held !== ERROR_DWORD) held = dev._XchgFreePhysReg(cursor.next(), held, 0);
    if (held === ERROR_DWORD) refusals += 1;
    chains += 1;
  }
  const elapsedMs = performance.now() - start;
  return {
    name: plan.name,
    actor: dev.actor,
    calls: dev.callTotal,
    chains,
    refusals,
    firstRefusal: refusals === 0 ? '' : (dev.lastError?.reason ?? ''),
    elapsedMs,
  };
}
