/**
 * What the services fuzz learns from results, for later plausible arguments: handles, pages,
 * regions, frames, VM handles, the frames each actor holds, and the arguments that undo an
 * earlier success (the unlock of a lock). Pools keep their most recent values, stale ones
 * included: a freed handle is a plausible argument too. Not the checks: oracle.ts.
 */
import {
  PAGEMAPGLOBAL,
  PageMapFreePhysReg,
  PageUseAlign,
  PC_FIXED,
  PC_LOCKED,
  PD_NOINIT,
  type DeviceContext,
  type DeviceInVm,
} from '../../../src/index.js';
import type { VmCore } from '../../../src/shared/services/index.js';
import type { DpmiPools, Pools, RegisterValues } from './args.js';

export interface Actor {
  name: string;
  /**
   * The device that makes the calls (its refusals, reenter count, statistics). A VM calls no
   * VMM service: a VM actor's service calls are a device's, acting for that VM (inVM).
   */
  ctx: DeviceContext;
  /** What the calls go through: the device, or its view of the VM. */
  services: DeviceContext | DeviceInVm;
  /** The VM context when the actor is a VM (its Int 31h calls and ring-3 accesses). */
  vm: VmCore | null;
  /** Frames (physical addresses) taken out of a region with _XchgFreePhysReg, not yet back. */
  held: number[];
  dpmiHandles: number[];
  dpmiMappings: number[];
  /** Registers of Int 31h 0600h calls that succeeded: 0601h undoes them. */
  dpmiLocks: RegisterValues[];
}

export function newActor(name: string, ctx: DeviceContext, vm: VmCore | null): Actor {
  const services = vm === null ? ctx : ctx.inVM(vm.handle);
  return { name, ctx, services, vm, held: [], dpmiHandles: [], dpmiMappings: [], dpmiLocks: [] };
}

export interface Region {
  first: number;
  count: number;
  creator: Actor | undefined;
}

const KEEP = 64; // values kept per pool: the most recent ones

export function remember(pool: number[], value: number): void {
  if (!Number.isInteger(value) || pool.includes(value)) return;
  pool.push(value);
  if (pool.length > KEEP) pool.splice(0, pool.length - KEEP);
}

/** An argument as a number for the fuzz's own bookkeeping (NaN for anything else). */
const numberOf = (value: unknown): number => (typeof value === 'number' ? value : NaN);
const pagesOf = (value: unknown): number =>
  typeof value === 'number' && Number.isInteger(value) ? Math.min(value, 8) : 1;

/** What the world adds to the pools when it asks for them: the live state of the machine. */
export interface LiveState {
  ramPages: number;
  liveVmHandles: number[];
  systemVmHandle: number;
  pinnedHandle: number;
  spareFirst: number;
  callback: (request: number, count: number) => boolean;
}

export class Knowledge {
  readonly regions: Region[] = [];
  readonly handles: number[] = [];
  readonly allocHandles: number[] = [];
  readonly pages: number[] = [];
  readonly reservedPages: number[] = [];
  readonly v86SourcePages: number[] = [];
  readonly frames: number[] = [];
  /** Handles of VMs being created, live or destroyed. */
  readonly vmHandles: number[] = [];
  /**
   * Arguments that undo an earlier success, by service: the unlock of a lock, the decommit of
   * a commit, the unmap of a map. Half the fully plausible calls of these services use one.
   */
  readonly undo = new Map<string, unknown[][]>();

  constructor(nulHandle: number) {
    remember(this.handles, nulHandle);
    remember(this.v86SourcePages, nulHandle >>> 12);
    for (const page of [nulHandle >>> 12, 0x50, 0xa0, 0x400, 0x80000, 0x80400, 0xc0000, 0xffbff]) {
      remember(this.pages, page);
      if (page <= 0x100) remember(this.v86SourcePages, page); // _LinMapIntoV86: nothing mapped
    }
  }

  /** The pools the argument resolver draws from, for a call by `actor`. */
  pools(actor: Actor, live: LiveState): Pools {
    const regionPages: number[] = [];
    for (const r of this.regions) {
      if (r.first === live.spareFirst) continue;
      for (let i = 0; i < r.count; i++) regionPages.push(r.first + i);
    }
    const vms = live.liveVmHandles;
    return {
      ramPages: live.ramPages,
      handles: this.handles,
      allocHandles: this.allocHandles,
      pages: this.pages,
      regionPages,
      reservedPages: this.reservedPages,
      v86SourcePages: this.v86SourcePages,
      vmHandles: [...vms, ...vms, live.systemVmHandle, ...this.vmHandles, 0, 1],
      frames: this.frames,
      held: actor.held,
      v86Handles: [live.pinnedHandle, this.handles[0]!],
      callback: live.callback,
    };
  }

  dpmiPools(actor: Actor): DpmiPools {
    return {
      handles: actor.dpmiHandles,
      mappings: actor.dpmiMappings,
      linear: this.pages,
      frames: this.frames,
    };
  }

  /** Learns from a call of `name` that did not return its failure value. */
  learn(actor: Actor, name: string, args: unknown[], result: unknown): void {
    const value = result as number;
    this.learnUndo(name, args, result);
    switch (name) {
      case '_PageAllocate':
      case '_PageReAllocate':
        return this.learnAllocation(actor, name, args, (result as { eax: number }).eax);
      case '_PageReserve':
        this.learnBlock(value, pagesOf(args[1]));
        for (let i = 0; i < pagesOf(args[1]); i++) remember(this.reservedPages, (value >>> 12) + i);
        return;
      case '_MapPhysToLinear':
        remember(this.v86SourcePages, value >>> 12);
        return remember(this.pages, value >>> 12);
      case '_LinPageLock':
        if ((numberOf(args[2]) & PAGEMAPGLOBAL) !== 0) remember(this.pages, value >>> 12);
        return;
      case '_CopyPageTable':
        if (args[2] instanceof Uint32Array)
          for (const pte of args[2].subarray(0, pagesOf(args[1])))
            if (pte & 1) remember(this.frames, (pte & ~0xfff) >>> 0);
        return;
      case '_XchgFreePhysReg':
        return this.learnExchange(actor, args, value);
      case '_Allocate_Global_V86_Data_Area':
      case '_Allocate_Temp_V86_Data_Area':
        return remember(this.pages, value >>> 12);
    }
  }

  private learnAllocation(actor: Actor, name: string, args: unknown[], handle: number): void {
    const countArg = name === '_PageAllocate' ? args[0] : args[1];
    this.learnBlock(handle, pagesOf(countArg));
    remember(this.allocHandles, handle);
    const flags = name === '_PageAllocate' ? numberOf(args[7]) : 0;
    if ((flags & PageMapFreePhysReg) !== 0)
      this.regions.push({ first: handle >>> 12, count: numberOf(countArg), creator: actor });
    if ((flags & PageUseAlign) !== 0 && args[6] instanceof Uint32Array)
      remember(this.frames, args[6][0]!);
  }

  private learnUndo(name: string, args: unknown[], result: unknown): void {
    const add = (service: string, undo: unknown[]): void => {
      const list = this.undo.get(service) ?? [];
      list.push(undo);
      if (list.length > 16) list.shift();
      this.undo.set(service, list);
    };
    const [first, second, third] = args;
    if (name === '_PageLock') add('_PageUnLock', [first, second, third, 0]);
    if (name === '_MapFreePhysReg') add('_UnmapFreePhysReg', [first, second, 0]);
    const stays = (numberOf(args[4]) & (PC_FIXED | PC_LOCKED)) !== 0 || numberOf(third) > PD_NOINIT;
    if (name === '_PageCommit' && !stays) add('_PageDecommit', [first, second, 0]);
    if (name === '_LinPageLock' && (numberOf(third) & PAGEMAPGLOBAL) !== 0)
      add('_LinPageUnLock', [(result as number) >>> 12, second, PAGEMAPGLOBAL]);
    else if (name === '_LinPageLock') add('_LinPageUnLock', [first, second, 0]);
  }

  private learnBlock(handle: number, pages: number): void {
    remember(this.handles, handle);
    for (let i = 0; i < Math.max(1, Math.min(pages, 4)); i++)
      remember(this.pages, (handle >>> 12) + i);
  }

  /** _XchgFreePhysReg: the frame put in is no longer held, the one taken out is. */
  private learnExchange(actor: Actor, args: unknown[], result: number): void {
    const incoming = args[1];
    if (typeof incoming === 'number' && incoming !== 0)
      actor.held.splice(actor.held.indexOf(incoming), 1);
    if (result !== 0) {
      actor.held.push(result);
      remember(this.frames, result);
    }
  }

  learnDpmi(actor: Actor, fn: number, out: RegisterValues): void {
    const bxcx = (((out.bx & 0xffff) << 16) | (out.cx & 0xffff)) >>> 0;
    if (fn === 0x0501) remember(actor.dpmiHandles, bxcx);
    if (fn === 0x0800) remember(actor.dpmiMappings, bxcx);
    if (fn === 0x0501 || fn === 0x0800) remember(this.pages, bxcx >>> 12);
    if (fn === 0x0600) actor.dpmiLocks.push({ ...out });
    if (actor.dpmiLocks.length > 16) actor.dpmiLocks.shift();
  }
}
