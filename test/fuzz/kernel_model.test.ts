/**
 * Model-based fuzz of the in-process kernel: one seeded event list drives the real kernel on
 * its SharedArrayBuffer and a plain in-memory model; after every call the result, the free
 * page count and the checker must agree. One thread, no scheduler: races are for the
 * concurrency tests.
 * VMMSIM_FUZZ_RUNS (seeds), VMMSIM_FUZZ_CALLS (events per seed), VMMSIM_FUZZ_SEED (first seed).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createKernel,
  ERROR_DWORD,
  PageFaultError,
  PageFixed,
  PageLocked,
  PageMapFreePhysReg,
  PageZeroInit,
  PG_HOOKED,
  PG_SYS,
  PG_VM,
  presets,
  P_PRES,
  P_USER,
  P_WRITE,
  type DeviceContext,
  type Kernel,
  type LockingPolicy,
  type VmContext,
  type DeviceInVm,
} from '../../src/index.js';

const RUNS = Number(process.env.VMMSIM_FUZZ_RUNS ?? 4);
const CALLS = Number(process.env.VMMSIM_FUZZ_CALLS ?? 2000);
const SEED = Number(process.env.VMMSIM_FUZZ_SEED ?? 0x5eed);
const RAM_PAGES = 512;
const ARENAS = { shared: [0x80000, 0xc0000], system: [0xc0000, 0xffc00] } as const;
type ArenaName = keyof typeof ARENAS;

const OPS = [
  ['alloc', 12],
  ['free', 8],
  ['pageLock', 4],
  ['pageUnlock', 4],
  ['linLock', 6],
  ['linUnlock', 6],
  ['map', 10],
  ['unmap', 6],
  ['xchg', 14],
  ['copy', 6],
  ['write', 12],
  ['read', 10],
] as const;
type Op = (typeof OPS)[number][0];
type Event = { op: Op } & Record<'a' | 'b' | 'c' | 'd', number>;
const eventArb: fc.Arbitrary<Event> = fc.record({
  op: fc.oneof(...OPS.map(([op, weight]) => ({ weight, arbitrary: fc.constant(op as Op) }))),
  a: fc.nat(0xffff),
  b: fc.nat(0xffff),
  c: fc.nat(0xffff),
  d: fc.nat(),
});

/** What the model knows of a page's bytes: `known[i]` says whether `bytes[i]` is certain. */
interface Content {
  bytes: Uint8Array;
  known: Uint8Array;
}
const content = (zero: boolean): Content => ({
  bytes: new Uint8Array(4096),
  known: new Uint8Array(4096).fill(zero ? 1 : 0),
});
interface Page {
  kind: 'block' | 'region' | 'nul';
  present: boolean;
  frame?: number;
  fixed: boolean;
  locks: number;
  data: Content;
  user: boolean;
}
interface Block {
  base: number;
  count: number;
  arena: ArenaName;
  fixed: boolean;
  ownerVm: number;
}
interface Region {
  base: number;
  count: number;
  creator: DeviceContext;
}
interface Caller {
  /** What the calls go through: a device, or a device acting for a VM (a VM calls none). */
  ctx: DeviceContext | DeviceInVm;
  /** The device making the calls (its reenter count). */
  device: DeviceContext;
  /** The VM whose own code makes ring-3 accesses; null for a device. */
  vm: VmContext | null;
}
const page = (
  kind: Page['kind'],
  present: boolean,
  locks = 0,
  zero = false,
  user = false,
): Page => ({ kind, present, fixed: false, locks, data: content(zero), user });

class Model {
  free = 0;
  readonly pdes = new Set<number>();
  readonly taken = { shared: new Set<number>(), system: new Set<number>() };
  readonly hint = { shared: 0, system: 0 };
  readonly blocks = new Map<number, Block>(); // by handle
  readonly regions: Region[] = [];
  readonly pages = new Map<number, Page>(); // by linear page
  readonly frames = new Map<number, string>(); // known physical frame → where it is
  readonly held = new Map<Caller['ctx'], Map<number, Content>>(); // physical address → bytes

  /** linear.ts: first fit from the arena's rotating hint, then from the arena's start. */
  reserve(arena: ArenaName, count: number): number {
    const [first, end] = ARENAS[arena];
    const taken = this.taken[arena];
    const hinted = this.hint[arena];
    for (const from of [hinted >= first && hinted < end ? hinted : first, first]) {
      for (let page = from; page + count <= end;) {
        let run = 0;
        while (run < count && !taken.has(page + run)) run++;
        if (run < count) {
          page += run + 1;
          continue;
        }
        for (let i = 0; i < count; i++) taken.add(page + i);
        this.hint[arena] = page + count;
        return page;
      }
    }
    throw new Error('model: linear arena exhausted');
  }

  /** alloc.ts: linear pages, then `frames` frames, then a page table per new PDE. */
  allocate(arena: ArenaName, count: number, frames: number): number {
    const base = this.reserve(arena, count);
    const release = (): number => {
      for (let i = 0; i < count; i++) this.taken[arena].delete(base + i);
      return -1;
    };
    if (this.free < frames) return release();
    this.free -= frames;
    for (let pde = base >>> 10; pde <= (base + count - 1) >>> 10; pde++) {
      if (this.pdes.has(pde)) continue;
      if (this.free === 0) {
        this.free += frames;
        return release();
      }
      this.free -= 1;
      this.pdes.add(pde);
    }
    return base;
  }

  learn(page: Page, physAddr: number, where: string): void {
    expect(physAddr % 4096, `${where}: frame address aligned`).toBe(0);
    const frame = physAddr / 4096;
    expect(
      frame > 0 && frame < RAM_PAGES && (frame < 0xa0 || frame >= 0x100),
      `${where}: ${physAddr.toString(16)}h is RAM`,
    ).toBe(true);
    if (page.frame === undefined) {
      expect(
        this.frames.get(frame),
        `${where}: frame ${frame.toString(16)}h already known elsewhere`,
      ).toBeUndefined();
      this.frames.set(frame, where);
      page.frame = frame;
    }
    expect(page.frame, `${where}: frame of the page`).toBe(frame);
  }

  forget(page: Page): void {
    if (page.frame !== undefined) this.frames.delete(page.frame);
    page.frame = undefined;
  }

  regionOf(page: number): Region | undefined {
    return this.regions.find((r) => page >= r.base && page < r.base + r.count);
  }

  heldBy(ctx: Caller['ctx']): Map<number, Content> {
    let held = this.held.get(ctx);
    if (held === undefined) this.held.set(ctx, (held = new Map()));
    return held;
  }
}

function bytesOf(seed: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) bytes[i] = (x = (Math.imul(x, 1103515245) + 12345) | 0) >>> 24;
  return bytes;
}

/** One machine and its model, booted to after Sys_VM_Init with two VMs. */
class World {
  readonly kernel: Kernel;
  readonly devA: DeviceContext;
  readonly devB: DeviceContext;
  readonly callers: Caller[];
  readonly m = new Model();
  readonly vmCost = new Map<VmContext, number>();
  readonly seen = new Set<string>();
  lastFreed = 0xbfff0000; // a handle that never was a block
  calls = 0;

  constructor(locking: LockingPolicy) {
    this.kernel = createKernel({ ...presets.testMin, ramPages: RAM_PAGES, locking });
    this.devA = this.kernel.device('VCACHE', { initOrder: 1 });
    this.devB = this.kernel.device('VPAGER', { initOrder: 2 });
    this.callers = [this.devA, this.devB].map((ctx) => ({ ctx, device: ctx, vm: null }));
    const nul = this.devA._GetNulPageHandle() / 4096;
    this.m.free = this.devA._GetFreePageCount(0).eax;
    this.m.taken.system.add(nul);
    this.m.hint.system = nul + 1;
    this.m.pdes.add(nul >>> 10);
    this.kernel.systemControl('Sys_Critical_Init');
    for (const count of [24, 16]) {
      const base = this.m.allocate('system', count, 0);
      this.call(() => this.devA._PageAllocate(count, PG_SYS, 0, 0, 0, 0, 0, PageMapFreePhysReg), {
        eax: base * 4096,
        edx: base * 4096,
      });
      this.m.regions.push({ base, count, creator: this.devA });
      for (let i = 0; i < count; i++) this.m.pages.set(base + i, page('region', false));
    }
    this.kernel.systemControl('Device_Init');
    // Seed 000: not before the device has received Init_Complete.
    this.call(() => this.devB._MapFreePhysReg(this.m.regions[0]!.base, 1, 0), 0);
    this.kernel.systemControl('Init_Complete');
    this.kernel.systemControl('Sys_VM_Init');
    for (let i = 0; i < 2; i++) {
      const vm = this.kernel.createVM();
      const free = this.devA._GetFreePageCount(0).eax;
      this.vmCost.set(vm, this.m.free - free);
      this.m.free = free;
      // A VM's memory calls are made by a device of its own acting for it.
      const device = this.kernel.device(`VMDEV${i + 1}`, { initOrder: 3 + i });
      this.callers.push({ ctx: device.inVM(vm.handle), device, vm });
    }
    const nulPage = page('nul', true);
    this.m.pages.set(nul, nulPage);
    const buffer = new Uint32Array(1);
    this.call(() => this.devA._CopyPageTable(nul, 1, buffer, 0), 1);
    this.m.learn(nulPage, (buffer[0]! & ~0xfff) >>> 0, 'nul page');
  }

  /** Makes one service call, compares its result, then the free count and the checker. */
  call<T>(fn: () => T, expected: T | ((actual: T) => void)): T {
    const actual = fn();
    this.calls++;
    if (typeof expected === 'function') (expected as (actual: T) => void)(actual);
    else expect(actual, 'service result').toEqual(expected);
    expect(this.devA._GetFreePageCount(0).eax, 'free page count').toBe(this.m.free);
    expect(this.kernel.check(), 'checker').toEqual([]);
    return actual;
  }

  /** A shared-arena page no block has yet (the allocator has not reached it). */
  freeLinearPage(): number {
    return Math.max(this.m.hint.shared, ARENAS.shared[0]) + 3;
  }

  pick<T>(items: readonly T[], n: number): T | undefined {
    return items.length === 0 ? undefined : items[n % items.length];
  }
}

const range = (first: number, count: number): number[] =>
  Array.from({ length: count }, (_, i) => first + i);
const hex = (n: number): string => `${n.toString(16)}h`;
const FAIL_PAIR = { eax: 0, edx: 0 };

function alloc(w: World, e: Event): void {
  const caller = w.pick(w.callers, e.a)!;
  const pType = [PG_SYS, PG_VM, PG_HOOKED][e.c % 3]!;
  const owner = w.callers[2 + ((e.c >>> 2) & 1)]!.vm!;
  const count = (e.b >>> 8) % 12 === 0 ? 16 + (e.b % 48) : 1 + (e.b % 6); // now and then a big one
  const flags =
    (e.d & 1 ? PageZeroInit : 0) |
    (e.d & 2 ? PageLocked : 0) |
    ((e.d >>> 2) % 6 === 0 ? PageFixed : 0);
  const vmArg = pType === PG_SYS ? 0 : owner.handle;
  const invalid = (e.d >>> 8) % 16;
  if (invalid < 3) {
    const bad = [
      [0, vmArg, flags],
      [count, pType === PG_SYS ? owner.handle : 0, flags],
      [count, vmArg, flags | 0x10], // PageDEBUGNulFault: a flag _PageAllocate does not take
    ][invalid]!;
    w.call(() => caller.ctx._PageAllocate(bad[0]!, pType, bad[1]!, 0, 0, 0, 0, bad[2]!), FAIL_PAIR);
    return;
  }
  const arena = pType === PG_SYS ? 'system' : 'shared';
  const base = w.m.allocate(arena, count, count);
  w.call(
    () => caller.ctx._PageAllocate(count, pType, vmArg, 0, 0, 0, 0, flags),
    base < 0 ? FAIL_PAIR : { eax: base * 4096, edx: base * 4096 },
  );
  w.seen.add(base < 0 ? 'alloc failed' : 'alloc');
  if (base < 0) return;
  const fixed = (flags & PageFixed) !== 0;
  const ownerVm = pType === PG_SYS ? -1 : owner.handle;
  w.m.blocks.set(base * 4096, { base, count, arena, fixed, ownerVm });
  const locks = flags & PageLocked ? 1 : 0;
  for (const linPage of range(base, count)) {
    w.m.pages.set(
      linPage,
      page('block', true, locks, (flags & PageZeroInit) !== 0, pType !== PG_SYS),
    );
  }
}

function freeBlock(w: World, handle: number): void {
  const block = w.m.blocks.get(handle)!;
  w.m.free += block.count;
  w.m.blocks.delete(handle);
  for (const page of range(block.base, block.count)) {
    w.m.forget(w.m.pages.get(page)!);
    w.m.pages.delete(page);
    w.m.taken[block.arena].delete(page);
  }
  w.lastFreed = handle;
}

function free(w: World, e: Event): void {
  const caller = w.pick(w.callers, e.a)!;
  const handle = w.pick([...w.m.blocks.keys()], e.b);
  const inside = [...w.m.blocks.values()].find((b) => b.count > 1);
  const bogus = [
    w.m.regions[0]!.base * 4096,
    w.devA._GetNulPageHandle(),
    w.lastFreed,
    (handle ?? 0x1000) + 1,
    inside === undefined ? 0 : (inside.base + 1) * 4096,
  ].filter((bad) => !w.m.blocks.has(bad));
  if (handle === undefined || e.c % 8 === 0) {
    w.call(() => caller.ctx._PageFree(bogus[e.d % bogus.length]!, 0), 0);
  } else if (e.c % 8 === 1) {
    w.call(() => caller.ctx._PageFree(handle, 1), 0);
  } else {
    freeBlock(w, handle);
    w.call(() => caller.ctx._PageFree(handle, 0), 1);
  }
}

function pageLock(w: World, e: Event, unlock: boolean): void {
  const caller = w.pick(w.callers, e.a)!;
  const handle = w.pick([...w.m.blocks.keys()], e.b) ?? w.m.regions[0]!.base * 4096;
  const block = w.m.blocks.get(handle) ?? { base: 0, count: 1, fixed: false };
  const offset = e.c % (block.count + 1);
  const count = 1 + (e.d % block.count);
  const pages = range(block.base + offset, count).map((page) => w.m.pages.get(page)!);
  let ok = w.m.blocks.has(handle) && offset + count <= block.count;
  if (ok && !block.fixed && unlock) ok = pages.every((page) => page.locks > 0);
  if (ok && !block.fixed) for (const page of pages) page.locks += unlock ? -1 : 1;
  const { ctx } = caller;
  w.call(() => (unlock ? ctx._PageUnLock : ctx._PageLock).call(ctx, handle, count, offset, 0), +ok);
}

function linLock(w: World, e: Event, unlock: boolean): void {
  const caller = w.pick(w.callers, e.a)!;
  const first = w.pick([...w.m.pages.keys()], e.b)! + (e.c % 3) - 1;
  const count = 1 + (e.d % 4);
  const pages = range(first, count).map((page) => w.m.pages.get(page));
  const lockable = pages.filter((page) => page?.kind !== 'nul') as Page[];
  const ok =
    pages.every((page) => page?.present) && (!unlock || lockable.every((page) => page.locks > 0));
  if (ok) for (const page of lockable) page.locks += unlock ? -1 : 1;
  const { ctx } = caller;
  w.call(() => (unlock ? ctx._LinPageUnLock : ctx._LinPageLock).call(ctx, first, count, 0), +ok);
  w.seen.add(`linLock ${unlock} ${ok}`);
}

/** A range of region pages that may start just before a region or run past its end. */
function regionRange(
  w: World,
  e: Event,
): { first: number; count: number; pages: Page[] | undefined; region?: Region } {
  const target = w.m.regions[e.b % w.m.regions.length]!;
  const first = target.base - 1 + (e.c % (target.count + 1));
  const count = 1 + (e.d % 4);
  const region = w.m.regionOf(first);
  if (region === undefined || first + count > region.base + region.count)
    return { first, count, pages: undefined };
  return { first, count, pages: range(first, count).map((page) => w.m.pages.get(page)!), region };
}

function map(w: World, e: Event): void {
  const caller = w.pick(w.callers, e.a)!;
  const { first, count, pages, region } = regionRange(w, e);
  const fixed = (e.d >>> 4) % 5 === 0;
  const ok =
    pages !== undefined &&
    (!fixed || caller.ctx === region!.creator) &&
    pages.every((page) => !page.present) &&
    w.m.free >= count;
  if (ok) {
    w.m.free -= count;
    for (const p of pages)
      Object.assign(p, { present: true, fixed, frame: undefined, data: content(false) });
  }
  w.call(() => caller.ctx._MapFreePhysReg(first, count, fixed ? PageFixed : 0), ok ? 1 : 0);
  w.seen.add(`map ${ok}`);
}

function unmap(w: World, e: Event): void {
  const caller = w.pick(w.callers, e.a)!;
  const { first, count, pages } = regionRange(w, e);
  // Fixed pages stay; locked pages stay too (the DMA rule of seed 002).
  const ok = pages?.every((page) => page.present && !page.fixed && page.locks === 0) === true;
  if (ok) {
    w.m.free += count;
    for (const page of pages!) {
      w.m.forget(page);
      Object.assign(page, { present: false, fixed: false, data: content(false) });
    }
  }
  w.call(() => caller.ctx._UnmapFreePhysReg(first, count, 0), ok ? 1 : 0);
  w.seen.add(`unmap ${ok}`);
}

/** One _XchgFreePhysReg of a region page with a frame the caller holds (or 0); a locked page is
 * left alone, as the DMA rule asks of callers ('skip'). */
function xchgOne(
  w: World,
  caller: Caller,
  linPage: number,
  physAddr: number,
  interrupt: boolean,
): number | 'skip' {
  const page = w.m.pages.get(linPage)!;
  if (page.present && page.locks > 0) return 'skip';
  const held = w.m.heldBy(caller.ctx);
  const service = (): number => caller.ctx._XchgFreePhysReg(linPage, physAddr, 0);
  const fn = (): number => (interrupt ? caller.device.atInterrupt(service) : service());
  if (page.present && page.fixed) return w.call(fn, ERROR_DWORD);
  return w.call(fn, (result) => {
    const incoming = physAddr === 0 ? undefined : held.get(physAddr)!;
    if (page.present) {
      w.m.learn(page, result, `region page ${hex(linPage)}`);
      w.m.frames.set(page.frame!, `held by ${caller.device.name}`);
      held.set(result, page.data);
      w.seen.add('xchg out');
    } else {
      expect(result, `_XchgFreePhysReg of not-present page ${hex(linPage)}`).toBe(0);
    }
    held.delete(physAddr);
    page.present = incoming !== undefined;
    page.frame = incoming === undefined ? undefined : physAddr / 4096;
    page.data = incoming ?? content(false);
    if (incoming !== undefined) w.m.frames.set(page.frame!, `region page ${hex(linPage)}`);
  });
}

function xchg(w: World, e: Event): void {
  const caller = w.pick(w.callers, e.a)!;
  const region = w.m.regions[e.c % w.m.regions.length]!;
  const held = [...w.m.heldBy(caller.ctx).keys()];
  const variant = e.b % 8;
  let linPage = region.base + (e.d % region.count);
  if (variant < 3) {
    // compaction: Xchg(present, 0), then Xchg(next, previous) until one returns 0
    const present = range(region.base, region.count).filter((p) => w.m.pages.get(p)!.present);
    linPage = w.pick(present, e.d) ?? linPage;
    let previous = 0;
    for (let i = 0; i < 8; i++) {
      const result = xchgOne(w, caller, linPage, previous, false);
      if (result === 'skip' || result === ERROR_DWORD) break;
      previous = result;
      if (previous === 0) break;
      linPage =
        region.base + ((linPage - region.base + 1 + ((e.d >>> (2 * i)) % 3)) % region.count);
    }
  } else if (variant < 6) {
    xchgOne(w, caller, linPage, (e.c & 1) === 1 ? (w.pick(held, e.d) ?? 0) : 0, variant === 5);
  } else {
    const nulFrame = w.m.pages.get(w.devA._GetNulPageHandle() / 4096)!.frame!;
    const badPhys = [
      0x1234,
      (held[0] ?? 0x200000) + 0x10,
      0xa0000,
      RAM_PAGES * 4096,
      0xe0000000,
      nulFrame * 4096,
    ];
    const badPage = [w.devA._GetNulPageHandle() / 4096, 0x7ffff, w.freeLinearPage()];
    const which = e.d % (badPhys.length + badPage.length + 1);
    const args =
      which < badPhys.length
        ? [linPage, badPhys[which]!, 0]
        : which < badPhys.length + badPage.length
          ? [badPage[which - badPhys.length]!, 0, 0]
          : [linPage, 0, 1];
    w.call(() => caller.ctx._XchgFreePhysReg(args[0]!, args[1]!, args[2]!), ERROR_DWORD);
  }
}

function copy(w: World, e: Event): void {
  const caller = w.pick(w.callers, e.a)!;
  const first = Math.max(ARENAS.shared[0], w.pick([...w.m.pages.keys()], e.b)! + (e.c % 3) - 1);
  const count = 1 + (e.d % 8);
  const short = (e.d >>> 8) % 10 === 0;
  const buffer = new Uint32Array(short ? count - 1 : count).fill(0xdeadbeef);
  if (short) {
    // never overrun the caller's buffer (seed 002)
    w.call(() => caller.ctx._CopyPageTable(first, count, buffer, 0), 0);
    expect(
      buffer.every((entry) => entry === 0xdeadbeef),
      'buffer untouched',
    ).toBe(true);
    return;
  }
  const complete = range(first, count).every((page) => w.m.pdes.has(page >>> 10));
  w.call(() => caller.ctx._CopyPageTable(first, count, buffer, 0), complete ? 1 : 0);
  for (let i = 0; i < count; i++) {
    const pte = buffer[i]!;
    const page = w.m.pages.get(first + i);
    const where = `PTE of page ${hex(first + i)} (${hex(pte)})`;
    if (page?.present !== true) {
      expect(pte & P_PRES, `${where} is not present`).toBe(0);
      continue;
    }
    expect(pte & (P_PRES | P_WRITE | P_USER), `${where}: P, W, U`).toBe(
      P_PRES | P_WRITE | (page.user ? P_USER : 0),
    );
    w.m.learn(page, (pte & ~0xfff) >>> 0, where);
  }
}

function access(w: World, e: Event, write: boolean): void {
  const caller = w.pick(w.callers, e.a)!;
  const pages = [...w.m.pages.entries()].filter(([, page]) => page.kind !== 'nul');
  const linPage = e.b % 16 === 0 ? w.freeLinearPage() : w.pick(pages, e.b)![0];
  const page = w.m.pages.get(linPage);
  const offset = e.c % 4096;
  const length = Math.min(1 + (e.d % 64), 4096 - offset);
  const fault = page?.present !== true || (caller.vm !== null && !page.user);
  const address = linPage * 4096 + offset;
  const faulted = (fn: () => void) => (): boolean => {
    try {
      fn();
      return false;
    } catch (error) {
      if (error instanceof PageFaultError) return true;
      throw error;
    }
  };
  if (write) {
    const bytes = bytesOf(e.d, length);
    w.call(
      faulted(() => w.kernel.writeLinear(caller.vm, address, bytes)),
      fault,
    );
    if (!fault) {
      page!.data.bytes.set(bytes, offset);
      page!.data.known.fill(1, offset, offset + length);
    }
    return;
  }
  let bytes: Uint8Array = new Uint8Array(0);
  w.call(
    faulted(() => {
      bytes = w.kernel.readLinear(caller.vm, address, length);
    }),
    fault,
  );
  if (!fault) expectContent(page!.data, bytes, offset, `read of page ${hex(linPage)} at ${offset}`);
}

function expectContent(data: Content, bytes: Uint8Array, offset: number, what: string): void {
  for (let i = 0; i < bytes.length; i++) {
    if (data.known[offset + i] === 1 && data.bytes[offset + i] !== bytes[i]) {
      throw new Error(
        `${what}: byte ${offset + i} is ${bytes[i]}, was written ${data.bytes[offset + i]}`,
      );
    }
  }
}

const HANDLERS: Record<Op, (w: World, e: Event) => void> = {
  alloc,
  free,
  map,
  unmap,
  xchg,
  copy,
  pageLock: (w, e) => pageLock(w, e, false),
  pageUnlock: (w, e) => pageLock(w, e, true),
  linLock: (w, e) => linLock(w, e, false),
  linUnlock: (w, e) => linLock(w, e, true),
  write: (w, e) => access(w, e, true),
  read: (w, e) => access(w, e, false),
};

function runEvent(w: World, e: Event): void {
  // Keep the machine between empty and exhausted: allocation under pressure turns into frees.
  const op = e.op === 'alloc' && w.m.free < 16 && e.a % 2 === 0 ? 'free' : e.op;
  HANDLERS[op](w, e);
}

/** A not-present region page; unlocks and unmaps a present one when there is none. */
function emptyRegionPage(w: World): number {
  const region = [...w.m.pages.entries()].filter(([, page]) => page.kind === 'region');
  const empty = region.find(([, page]) => !page.present);
  if (empty !== undefined) return empty[0];
  const [linPage, page] = region.find(([, p]) => !p.fixed)!;
  for (; page.locks > 0; page.locks--) w.call(() => w.devA._LinPageUnLock(linPage, 1, 0), 1);
  w.m.forget(page);
  Object.assign(page, { present: false, data: content(false) });
  w.m.free += 1;
  w.call(() => w.devA._UnmapFreePhysReg(linPage, 1, 0), 1);
  return linPage;
}

/** Held frames go back, data reads back, Destroy_VM frees the VM's blocks; the machine is sound. */
function finish(w: World): void {
  for (const caller of w.callers) {
    for (const physAddr of [...w.m.heldBy(caller.ctx).keys()]) {
      expect(
        xchgOne(w, caller, emptyRegionPage(w), physAddr, false),
        'putting a held frame back',
      ).toBe(0);
    }
  }
  expect(w.kernel.check({ final: true }), 'final check').toEqual([]);
  const vm = w.callers[3]!.vm!;
  for (const [handle, block] of [...w.m.blocks])
    if (block.ownerVm === vm.handle) freeBlock(w, handle);
  w.m.free += w.vmCost.get(vm)!;
  w.kernel.destroyVM(vm);
  expect(w.devA._GetFreePageCount(0).eax, 'free page count after Destroy_VM').toBe(w.m.free);
  expect(w.kernel.check({ final: true }), 'final check after Destroy_VM').toEqual([]);
  for (const [linPage, page] of w.m.pages) {
    if (page.present && page.kind !== 'nul')
      expectContent(
        page.data,
        w.kernel.readLinear(null, linPage * 4096, 4096),
        0,
        `page ${hex(linPage)} at the end`,
      );
  }
}

/** Outcomes every run of 1000 events or more must reach, so that the fuzz keeps its teeth. */
const COVERED = ['alloc', 'alloc failed', 'xchg out', 'map true', 'map false', 'unmap true'].concat(
  ['unmap false', 'linLock true true', 'linLock false false'],
);

describe('the kernel against a plain model, one seeded event list', () => {
  const seeds = Array.from({ length: RUNS }, (_, i) => SEED + i);
  it.each(seeds)(
    'seed %i: results, free page count, checker and data agree after every call',
    (seed) => {
      const events = fc.sample(eventArb, { seed, numRuns: CALLS });
      const locking = seed % 2 === 0 ? 'fine' : 'global'; // both policies, the same results
      const w = new World(locking);
      let step = 0;
      try {
        for (; step < events.length; step++) runEvent(w, events[step]!);
        finish(w);
      } catch (error) {
        const at =
          step < events.length
            ? `event ${step} ${JSON.stringify(events[step])}`
            : 'the final phase';
        const refusals = w.callers.map(
          ({ ctx, device }) => `${device.name}: ${ctx.lastError?.service} ${ctx.lastError?.reason}`,
        );
        const rerun = `VMMSIM_FUZZ_SEED=${seed} VMMSIM_FUZZ_RUNS=1 VMMSIM_FUZZ_CALLS=${CALLS}`;
        const message = `fuzz seed ${seed} (rerun: ${rerun}), ${at}; refusals [${refusals}]`;
        console.error(message);
        if (error instanceof Error) error.message = `${message}: ${error.message}`;
        throw error;
      }
      expect(w.calls).toBeGreaterThan(CALLS / 2); // a few events are skipped (locked pages)
      if (CALLS >= 1000) {
        for (const tag of COVERED) expect(w.seen, `the run exercised "${tag}"`).toContain(tag);
      }
    },
    Math.max(60_000, CALLS * 5), // ms: about 1 ms per event, with room for slow machines
  );
});
