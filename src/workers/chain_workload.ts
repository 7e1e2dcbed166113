/**
 * The benchmark's hot path as a workload: _XchgFreePhysReg chains (seed 001) over a window of
 * pages of one free physical region, until the stop word is set. It runs the same in a
 * worker (stress_worker.ts) and in-process; the message-passing baseline (baseline_client.ts)
 * walks the same pages in the same order. It is not the stress workload: nothing is checked
 * between calls (that would be what is timed); the caller checks the machine at the end.
 */
import type { LockingPolicy } from '../shared/config.js';
import { ERROR_DWORD, PageMapFreePhysReg, PG_SYS } from '../shared/constants.js';
import { createKernel, type Kernel } from '../shared/kernel.js';
import { PTES_PER_TABLE } from '../shared/layout.js';
import { spaceLockOf, SYSTEM_VM } from '../shared/page_table.js';
import { Prng } from '../shared/prng.js';
import { stopRequested } from '../shared/protocol.js';
import type { DeviceContext } from '../shared/services/index.js';
import type { ChainPlan, ChainResult } from '../shared/protocol.js';
export type { ChainPlan, ChainResult };

export interface ChainMachineOptions {
  /** Windows to make: one per device (own regions), or one that every device shares. */
  windowCount: number;
  windowPageCount: number;
  locking: LockingPolicy;
}

export interface ChainWindow {
  firstPage: number;
  pageCount: number;
  /** The page-table lock its pages take under fine locking. */
  lockId: number;
}

/**
 * Boots a machine for chains: one free physical region per window, made during init, each
 * window inside one page table of its own (so under fine locking two windows never share a
 * lock), every window page mapped but the last. Ends in Sys_VM_Init, where devices run.
 */
export function bootChainMachine(o: ChainMachineOptions): {
  kernel: Kernel;
  windows: ChainWindow[];
} {
  const span = PTES_PER_TABLE + o.windowPageCount;
  const ramPages = Math.max(4096, 1024 + o.windowCount * (o.windowPageCount + 4));
  const kernel = createKernel({ ramPages, locking: o.locking, actorMax: 128 });
  const setup = kernel.device('SETUP', { initOrder: 0 });
  kernel.systemControl('Sys_Critical_Init');
  const windows: ChainWindow[] = [];
  for (let i = 0; i < o.windowCount; i++) {
    const { eax } = setup._PageAllocate(span, PG_SYS, 0, 0, 0, 0, 0, PageMapFreePhysReg);
    if (eax === 0) throw new Error(`chains: no region: ${setup.lastError?.reason}`);
    const base = eax >>> 12;
    const fits = (base % PTES_PER_TABLE) + o.windowPageCount <= PTES_PER_TABLE;
    const firstPage = fits ? base : (base | (PTES_PER_TABLE - 1)) + 1;
    windows.push({
      firstPage,
      pageCount: o.windowPageCount,
      lockId: spaceLockOf(firstPage, SYSTEM_VM),
    });
  }
  kernel.systemControl('Device_Init');
  kernel.systemControl('Init_Complete');
  kernel.systemControl('Sys_VM_Init');
  for (const w of windows) {
    if (setup._MapFreePhysReg(w.firstPage, w.pageCount - 1, 0) === 0)
      throw new Error(`chains: _MapFreePhysReg: ${setup.lastError?.reason}`);
  }
  return { kernel, windows };
}

/**
 * Pages a chain visits: uniformly random in the window, from the device's own seed. Not a
 * fixed walk: two devices on one window walking in step at a fixed distance make phases of
 * seconds in which they touch the same page-table lines on every call, or never.
 */
export class ChainCursor {
  private readonly prng: Prng;

  constructor(
    private readonly first: number,
    private readonly count: number,
    seed: number,
  ) {
    this.prng = new Prng(seed);
  }

  next(): number {
    return this.first + this.prng.int(this.count);
  }
}

/**
 * Runs chains as `dev` until the stop word of its machine is set: each takes a page out (the
 * frame is then held by this device) and moves frames along until a call puts the held
 * frame into a page that was not present (it returns 0). A refusal ends the run: the frame
 * it held would be lost, and the checker says so. Counts this run's calls only.
 */
export function runChains(dev: DeviceContext, plan: ChainPlan): ChainResult {
  const cursor = new ChainCursor(plan.windowFirstPage, plan.windowPageCount, plan.seed);
  const callsBefore = dev.callTotal;
  let chains = 0;
  let refusals = 0;
  const start = performance.now();
  const callsEnd = plan.callsMax === 0 ? Infinity : callsBefore + plan.callsMax;
  while (refusals === 0 && !stopRequested(dev.l) && dev.callTotal < callsEnd) {
    let held = dev._XchgFreePhysReg(cursor.next(), 0, 0);
    while (held !== 0 && held !== ERROR_DWORD) held = dev._XchgFreePhysReg(cursor.next(), held, 0);
    if (held === ERROR_DWORD) refusals += 1;
    chains += 1;
  }
  const elapsedMs = performance.now() - start;
  return {
    name: plan.name,
    actor: dev.actor,
    calls: dev.callTotal - callsBefore,
    chains,
    refusals,
    firstRefusal: refusals === 0 ? '' : (dev.lastError?.reason ?? ''),
    elapsedMs,
  };
}
