/**
 * Conformance: seed 002's recipe (lock, _CopyPageTable, program the device at the physical
 * addresses, unlock) end to end, _CopyPageTable's contract (reference §2.6) and
 * _LinPageLock/_LinPageUnLock (reference §2.5), with the module's [I] decisions: the
 * PAGEMAPGLOBAL alias is a byte address, and unlocking it names the alias's page number.
 */
import { describe, expect, it } from 'vitest';
import {
  createKernel,
  presets,
  type DeviceContext,
  type Kernel,
  PageFaultError,
  ERROR_DWORD,
  P_ACC,
  P_DIRTY,
  P_PRES,
  P_USER,
  P_WRITE,
  PG_SYS,
  PG_TYPE,
  PG_TYPE_SHIFT,
  PG_VM,
  PAGELOCKEDIFDP,
  PAGEMAPGLOBAL,
  PAGEMARKDIRTY,
  PageMapFreePhysReg,
  PR_SYSTEM,
  PC_WRITEABLE,
  PD_ZEROINIT,
} from '../../src/index.js';

const GUARD = 0xdeadbeef;

interface Machine {
  kernel: Kernel;
  dev: DeviceContext;
  region: number;
}

/** Boots to Sys_VM_Init; a 4-page free physical region is made during Device_Init. */
function boot(): Machine {
  const kernel = createKernel(presets.testMin);
  const dev = kernel.device('DMADEV');
  kernel.systemControl('Sys_Critical_Init');
  kernel.systemControl('Device_Init');
  const region = dev._PageAllocate(4, PG_SYS, 0, 0, 0, 0, null, PageMapFreePhysReg).edx >>> 12;
  expect(region).not.toBe(0);
  kernel.systemControl('Init_Complete');
  kernel.systemControl('Sys_VM_Init');
  return { kernel, dev, region };
}

/** A committed PG_SYS block of `pages` pages; its first linear page number. */
function sysBlock(dev: DeviceContext, pages: number): number {
  const { eax, edx } = dev._PageAllocate(pages, PG_SYS, 0, 0, 0, 0, null, 0);
  expect(eax).not.toBe(0);
  return edx >>> 12;
}

function ptes(dev: DeviceContext, page: number, count: number): Uint32Array {
  const buffer = new Uint32Array(count);
  expect(dev._CopyPageTable(page, count, buffer, 0)).not.toBe(0);
  return buffer;
}

const pte = (dev: DeviceContext, page: number): number => ptes(dev, page, 1)[0]!;
const physOf = (entry: number): number => (entry & ~0xfff) >>> 0;
const pattern = (seed: number, length = 16): Uint8Array =>
  Uint8Array.from({ length }, (_, i) => (seed * 31 + i) & 0xff);

describe('seed 002: converting a linear address to a physical one', () => {
  it('lock, _CopyPageTable, use the physical addresses, unlock', () => {
    const { kernel, dev } = boot();
    const pgStart = sysBlock(dev, 3);
    expect(dev._LinPageLock(pgStart, 3, 0)).not.toBe(0);
    const buffer = new Uint32Array(3);
    expect(dev._CopyPageTable(pgStart, 3, buffer, 0)).not.toBe(0);
    expect(new Set([...buffer].map(physOf)).size).toBe(3);
    for (let i = 0; i < 3; i++) {
      expect(buffer[i]! & P_PRES).toBe(P_PRES);
      const bytes = pattern(i + 1);
      kernel.writePhysical(physOf(buffer[i]!) + 0x80, bytes); // the "device" writes by DMA
      expect(kernel.readLinear(null, (pgStart + i) * 4096 + 0x80, bytes.length)).toEqual(bytes);
    }
    expect(kernel.check()).toEqual([]);
    expect(dev._LinPageUnLock(pgStart, 3, 0)).not.toBe(0);
    expect(dev._LinPageUnLock(pgStart, 3, 0)).toBe(0); // the lock was taken off
    expect(kernel.check()).toEqual([]);
  });

  it("_CopyPageTable: the seed's own example (5 entries into a 3-entry buffer) is refused and not written", () => {
    const { dev } = boot();
    const pgStart = sysBlock(dev, 5);
    expect(dev._LinPageLock(pgStart, 3, 0)).not.toBe(0);
    const stack = new Uint32Array(5).fill(GUARD);
    const buffer = stack.subarray(0, 3); // sub esp, 3 * 4
    expect(dev._CopyPageTable(pgStart, 5, buffer, 0)).toBe(0);
    expect([...stack]).toEqual(new Array(5).fill(GUARD));
    expect(dev._CopyPageTable(pgStart, 3, buffer, 0)).not.toBe(0);
    expect([...stack.subarray(3)]).toEqual([GUARD, GUARD]);
    expect(dev._LinPageUnLock(pgStart, 3, 0)).not.toBe(0);
  });
});

describe('_CopyPageTable', () => {
  it.each([1, 0x80000000])('flags ≠ 0 (%i) returns 0 and does not write the buffer', (flags) => {
    const { dev } = boot();
    const page = sysBlock(dev, 1);
    const buffer = new Uint32Array(1).fill(GUARD);
    expect(dev._CopyPageTable(page, 1, buffer, flags)).toBe(0);
    expect(buffer[0]).toBe(GUARD);
  });

  it('LinPgNum above 0FFFFFh returns 0', () => {
    const { dev } = boot();
    const buffer = new Uint32Array(1).fill(GUARD);
    expect(dev._CopyPageTable(0x100000, 1, buffer, 0)).toBe(0);
    expect(buffer[0]).toBe(GUARD);
    expect(dev._CopyPageTable(0xfffff, 2, new Uint32Array(2), 0)).toBe(0); // runs past 0FFFFFh
  });

  it('each entry is an exact copy of the PTE: frame in bits 12–31, P_PRES, P_WRITE, P_USER, type', () => {
    const { kernel, dev } = boot();
    const sys = sysBlock(dev, 1);
    expect(pte(dev, sys) & 0xfff).toBe(P_PRES | P_WRITE | (PG_SYS << PG_TYPE_SHIFT));
    const vm = kernel.createVM();
    const shared = dev._PageAllocate(1, PG_VM, vm.handle, 0, 0, 0, null, 0).edx >>> 12;
    expect(pte(dev, shared) & 0xfff).toBe(P_PRES | P_WRITE | P_USER | (PG_VM << PG_TYPE_SHIFT));
    const bytes = pattern(7);
    kernel.writeLinear(null, sys * 4096 + 0x100, bytes);
    const entry = pte(dev, sys);
    expect(entry & (P_ACC | P_DIRTY)).toBe(P_ACC | P_DIRTY);
    expect(entry & PG_TYPE).toBe(PG_SYS << PG_TYPE_SHIFT);
    expect(kernel.readPhysical(physOf(entry) + 0x100, bytes.length)).toEqual(bytes);
  });

  it('is a snapshot: later accesses do not update it, and writing it changes no PTE', () => {
    const { kernel, dev } = boot();
    const page = sysBlock(dev, 1);
    const snapshot = ptes(dev, page, 1);
    expect(snapshot[0]! & (P_ACC | P_DIRTY)).toBe(0);
    kernel.writeLinear(null, page * 4096, Uint8Array.of(1));
    expect(snapshot[0]! & (P_ACC | P_DIRTY)).toBe(0);
    const real = pte(dev, page);
    expect(real & (P_ACC | P_DIRTY)).toBe(P_ACC | P_DIRTY);
    snapshot[0] = 0;
    expect(pte(dev, page)).toBe(real);
    expect(kernel.readLinear(null, page * 4096, 1)).toEqual(Uint8Array.of(1));
  });

  it('returns 0 when an entry lies under a page-directory entry that is not present', () => {
    const { dev } = boot();
    // Page tables 0 (V86 memory) exists; page table 1 (private arena, 4 MiB) does not yet.
    expect(dev._CopyPageTable(0x3fe, 2, new Uint32Array(2), 0)).not.toBe(0);
    expect(dev._CopyPageTable(0x3fe, 4, new Uint32Array(4), 0)).toBe(0);
    expect(dev._CopyPageTable(0x7ffff, 1, new Uint32Array(1), 0)).toBe(0);
  });

  it('a not-present page under a present page table is copied, not refused', () => {
    const { dev } = boot();
    const buffer = new Uint32Array(1).fill(GUARD);
    expect(dev._CopyPageTable(0xc0, 1, buffer, 0)).not.toBe(0); // ROM page: no memory at boot
    expect(buffer[0]! & P_PRES).toBe(0);
  });

  it('pages 0–10Fh are the V86 space of the current VM', () => {
    const { kernel, dev } = boot();
    const vm = kernel.createVM();
    const system = ptes(dev, 0x10, 1)[0]!;
    const own = new Uint32Array(1);
    expect(dev.inVM(vm.handle)._CopyPageTable(0x10, 1, own, 0)).not.toBe(0);
    expect(own[0]! & P_PRES).toBe(P_PRES);
    expect(physOf(own[0]!)).not.toBe(physOf(system)); // the VM's private V86 page
  });
});

describe('_LinPageLock / _LinPageUnLock', () => {
  it('_LinPageLock: a page that is not committed fails, all or nothing', () => {
    const { dev } = boot();
    const base = dev._PageReserve(PR_SYSTEM, 2, 0) >>> 12;
    expect(dev._LinPageLock(base, 1, 0)).toBe(0);
    expect(dev._PageCommit(base, 1, PD_ZEROINIT, 0, PC_WRITEABLE)).not.toBe(0);
    expect(dev._LinPageLock(base, 2, 0)).toBe(0); // base+1 is still only reserved
    expect(dev._LinPageUnLock(base, 1, 0)).toBe(0); // so base was not locked either
    expect(dev._LinPageLock(0xf0000, 1, 0)).toBe(0); // free linear space
  });

  it('locks nest: n locks need n unlocks', () => {
    const { kernel, dev } = boot();
    const page = sysBlock(dev, 2);
    for (let i = 0; i < 3; i++) expect(dev._LinPageLock(page, 2, 0)).not.toBe(0);
    for (let i = 0; i < 3; i++) expect(dev._LinPageUnLock(page, 2, 0)).not.toBe(0);
    expect(dev._LinPageUnLock(page, 2, 0)).toBe(0);
    expect(kernel.check()).toEqual([]);
  });

  it('_LinPageUnLock: a page that is not locked fails and changes nothing', () => {
    const { kernel, dev } = boot();
    const page = sysBlock(dev, 2);
    expect(dev._LinPageLock(page, 1, 0)).not.toBe(0);
    expect(dev._LinPageUnLock(page, 2, 0)).toBe(0); // page+1 was never locked
    expect(dev._LinPageUnLock(page, 1, 0)).not.toBe(0); // page kept its one lock
    expect(dev._LinPageUnLock(page, 1, 0)).toBe(0);
    expect(kernel.check()).toEqual([]);
  });

  // [I] A page with no RAM frame of its own (device memory) never moves: like a PageFixed
  // block it is always locked, so lock and unlock do nothing and succeed (reference §2.4).
  it('_LinPageLock/_LinPageUnLock: device memory is always locked, both succeed', () => {
    const { dev } = boot();
    const page = dev._MapPhysToLinear(0xe0000000, 4096, 0) >>> 12;
    const before = new Uint32Array(1);
    dev._CopyPageTable(page, 1, before, 0);
    expect(dev._LinPageUnLock(page, 1, 0)).toBe(1);
    expect(dev._LinPageLock(page, 1, 0)).toBe(1);
    expect(dev._LinPageUnLock(page, 1, 0)).toBe(1);
    const after = new Uint32Array(1);
    dev._CopyPageTable(page, 1, after, 0);
    expect(after[0]! & ~0x60).toBe(before[0]! & ~0x60);
  });

  it('PAGELOCKEDIFDP is a no-op success: the pager is not the MS-DOS pager', () => {
    const { dev } = boot();
    const page = sysBlock(dev, 1);
    expect(dev._LinPageLock(page, 1, PAGELOCKEDIFDP)).not.toBe(0);
    expect(dev._LinPageUnLock(page, 1, 0)).toBe(0);
  });

  it('_LinPageLock: reserved flag bits return 0', () => {
    const { dev } = boot();
    const page = sysBlock(dev, 1);
    expect(dev._LinPageLock(page, 1, 0x2)).toBe(0);
    expect(dev._LinPageUnLock(page, 1, 0)).toBe(0);
  });

  it('PAGEMAPGLOBAL returns a global alias whose bytes are the same memory', () => {
    const { kernel, dev } = boot();
    const vm = kernel.createVM();
    const other = kernel.createVM();
    const block = vm.int31({ ax: 0x0501, bx: 0, cx: 0x2000 }); // VM-private memory
    expect(block.cf).toBe(0);
    const linear = ((block.bx << 16) | block.cx) >>> 0;
    const alias = dev.inVM(vm.handle)._LinPageLock(linear >>> 12, 2, PAGEMAPGLOBAL);
    expect(alias).not.toBe(0);
    expect(alias % 4096).toBe(0);
    expect(alias).not.toBe(linear);
    const first = pattern(3);
    kernel.writeLinear(vm, linear + 0x10, first);
    expect(kernel.readLinear(null, alias + 0x10, first.length)).toEqual(first);
    expect(kernel.readLinear(dev.inVM(other.handle), alias + 0x10, first.length)).toEqual(first);
    const second = pattern(4);
    kernel.writeLinear(null, alias + 0x1ff0, second);
    expect(kernel.readLinear(vm, linear + 0x1ff0, second.length)).toEqual(second);
    const original = new Uint32Array(2);
    expect(dev.inVM(vm.handle)._CopyPageTable(linear >>> 12, 2, original, 0)).not.toBe(0);
    expect([...ptes(dev, alias >>> 12, 2)].map(physOf)).toEqual([...original].map(physOf));
    expect(kernel.check()).toEqual([]);
  });

  it('_LinPageUnLock(PAGEMAPGLOBAL) on the alias unlocks the pages and deletes the alias', () => {
    const { kernel, dev } = boot();
    const page = sysBlock(dev, 2);
    const alias = dev._LinPageLock(page, 2, PAGEMAPGLOBAL);
    expect(alias).not.toBe(0);
    expect(dev._LinPageUnLock(page, 2, PAGEMAPGLOBAL)).toBe(0); // names the original, not the alias
    expect(dev._LinPageUnLock(alias >>> 12, 2, PAGEMAPGLOBAL)).not.toBe(0);
    expect(() => kernel.readLinear(null, alias, 1)).toThrow(PageFaultError);
    expect(dev._LinPageUnLock(page, 2, 0)).toBe(0); // the lock went with the alias
    expect(kernel.readLinear(null, page * 4096, 1)).toHaveLength(1);
    expect(kernel.check()).toEqual([]);
  });

  it('PAGEMARKDIRTY sets P_DIRTY on the locked pages', () => {
    const { dev } = boot();
    const page = sysBlock(dev, 2);
    expect([...ptes(dev, page, 2)].map((e) => e & P_DIRTY)).toEqual([0, 0]);
    expect(dev._LinPageLock(page, 2, PAGEMARKDIRTY)).not.toBe(0);
    expect([...ptes(dev, page, 2)].map((e) => e & P_DIRTY)).toEqual([P_DIRTY, P_DIRTY]);
    expect(dev._LinPageUnLock(page, 2, 0)).not.toBe(0);
  });

  it('PAGELOCKEDIFDP with PAGEMAPGLOBAL is refused and locks nothing', () => {
    const { dev } = boot();
    const page = sysBlock(dev, 1);
    expect(dev._LinPageLock(page, 1, PAGELOCKEDIFDP | PAGEMAPGLOBAL)).toBe(0);
    expect(dev._LinPageUnLock(page, 1, 0)).toBe(0);
  });

  it('a locked page that _XchgFreePhysReg moves is reported as locked-page-moved', () => {
    const { kernel, dev, region } = boot();
    expect(dev._MapFreePhysReg(region, 2, 0)).not.toBe(0);
    const unlocked = physOf(pte(dev, region + 1));
    expect(dev._XchgFreePhysReg(region + 1, 0, 0)).toBe(unlocked); // unlocked: allowed
    expect(kernel.check()).toEqual([]);
    const locked = physOf(pte(dev, region));
    expect(dev._LinPageLock(region, 1, 0)).not.toBe(0);
    const moved = dev._XchgFreePhysReg(region, 0, 0);
    expect(moved).toBe(locked);
    expect(moved).not.toBe(ERROR_DWORD);
    const violations = kernel.check();
    expect(violations.map((v) => v.kind)).toEqual(['locked-page-moved']);
    expect(violations[0]!.page).toBe(region);
    expect(violations[0]!.frame).toBe(locked >>> 12);
  });
});
