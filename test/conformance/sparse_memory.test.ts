/**
 * Conformance: Win95 sparse memory — _PageReserve, _PageCommit, _PageDecommit, _PageFree of
 * a reserved block, _PageQuery and _PageModifyPermissions (reference §1.5, §1.6, §2.7, §2.8).
 * _PageQuery follows VirtualQuery and _PageModifyPermissions returns what Wine returns: both
 * [I] decisions recorded in their module headers.
 */
import { describe, expect, it } from 'vitest';
import {
  createKernel,
  presets,
  type DeviceContext,
  type Kernel,
  type DeviceInVm,
  PageFaultError,
  ERROR_DWORD,
  MBI_SIZE,
  MEM_COMMIT,
  MEM_FREE,
  MEM_PRIVATE,
  MEM_RESERVE,
  PAGE_NOACCESS,
  PAGE_READONLY,
  PAGE_READWRITE,
  PC_STATIC,
  PC_USER,
  PC_WRITEABLE,
  PD_FIXED,
  PD_FIXEDZERO,
  PD_NOINIT,
  PD_ZEROINIT,
  PG_SYS,
  P_PRES,
  P_USER,
  P_WRITE,
  PR_4MEG,
  PR_PRIVATE,
  PR_SHARED,
  PR_STATIC,
  PR_SYSTEM,
} from '../../src/index.js';

const RW = PC_USER | PC_WRITEABLE;
const GUARD = 0xdeadbeef;

function boot(): { kernel: Kernel; dev: DeviceContext } {
  const kernel = createKernel(presets.testMin);
  const dev = kernel.device('SPARSE');
  for (const m of ['Sys_Critical_Init', 'Device_Init', 'Init_Complete', 'Sys_VM_Init'] as const)
    kernel.systemControl(m);
  return { kernel, dev };
}

function reserve(ctx: DeviceContext | DeviceInVm, page: number, npages: number, flags = 0): number {
  const address = ctx._PageReserve(page, npages, flags);
  expect(address).not.toBe(ERROR_DWORD);
  return address >>> 12;
}

function pte(ctx: DeviceContext | DeviceInVm, page: number): number {
  const buffer = new Uint32Array(1);
  expect(ctx._CopyPageTable(page, 1, buffer, 0)).not.toBe(0);
  return buffer[0]!;
}

function query(ctx: DeviceContext | DeviceInVm, address: number): number[] {
  const mbi = new Uint32Array(7).fill(GUARD);
  expect(ctx._PageQuery(address, mbi, MBI_SIZE)).toBe(MBI_SIZE);
  return [...mbi];
}

const freePages = (dev: DeviceContext): number => dev._GetFreePageCount(0).eax;

describe('_PageReserve', () => {
  it('PR_PRIVATE, PR_SHARED and PR_SYSTEM reserve page-aligned space in their arenas', () => {
    const { kernel, dev } = boot();
    const vm = kernel.createVM();
    const inRange = (address: number, from: number, to: number): void => {
      expect(address % 4096).toBe(0);
      expect(address).toBeGreaterThanOrEqual(from);
      expect(address).toBeLessThan(to);
    };
    inRange(dev.inVM(vm.handle)._PageReserve(PR_PRIVATE, 2, 0), 0x400000, 0x80000000);
    inRange(dev._PageReserve(PR_SHARED, 2, 0), 0x80000000, 0xc0000000);
    inRange(dev._PageReserve(PR_SYSTEM, 2, 0), 0xc0000000, 0xffc00000);
  });

  it('a specific page number reserves exactly there, once', () => {
    const { dev } = boot();
    expect(dev._PageReserve(0x90000, 2, 0)).toBe(0x90000000);
    expect(dev._PageReserve(0x90000, 1, 0)).toBe(ERROR_DWORD);
    expect(dev._PageReserve(0x8ffff, 2, 0)).toBe(ERROR_DWORD); // overlaps the first block
    expect(dev._PageReserve(0x90002, 1, 0)).toBe(0x90002000);
  });

  it('PR_4MEG aligns the block on a 4 MiB boundary', () => {
    const { dev } = boot();
    reserve(dev, PR_SHARED, 1);
    const address = dev._PageReserve(PR_SHARED, 3, PR_4MEG);
    expect(address).not.toBe(ERROR_DWORD);
    expect(address % 0x400000).toBe(0);
    expect(dev._PageReserve(PR_SYSTEM, 1, PR_4MEG) % 0x400000).toBe(0);
  });

  it('returns 0FFFFFFFFh for reserved flags, npages 0, or a page past 0FFFFFh', () => {
    const { dev } = boot();
    expect(dev._PageReserve(PR_SHARED, 1, 0x2)).toBe(ERROR_DWORD);
    expect(dev._PageReserve(PR_SHARED, 0, 0)).toBe(ERROR_DWORD);
    expect(dev._PageReserve(0x100000, 1, 0)).toBe(ERROR_DWORD);
  });

  it('reserved pages have no memory: an access faults', () => {
    const { kernel, dev } = boot();
    const page = reserve(dev, PR_SYSTEM, 1);
    expect(pte(dev, page) & P_PRES).toBe(0);
    expect(() => kernel.readLinear(null, page * 4096, 1)).toThrow(PageFaultError);
  });
});

describe('_PageCommit', () => {
  it('PC_WRITEABLE and PC_USER become P_WRITE and P_USER in the PTE', () => {
    const { dev } = boot();
    const base = reserve(dev, PR_SHARED, 3);
    expect(dev._PageCommit(base, 1, PD_ZEROINIT, 0, RW)).not.toBe(0);
    expect(dev._PageCommit(base + 1, 1, PD_ZEROINIT, 0, PC_USER)).not.toBe(0);
    expect(dev._PageCommit(base + 2, 1, PD_ZEROINIT, 0, 0)).not.toBe(0);
    const bits = [0, 1, 2].map((i) => pte(dev, base + i) & (P_PRES | P_WRITE | P_USER));
    expect(bits).toEqual([P_PRES | P_WRITE | P_USER, P_PRES | P_USER, P_PRES]);
  });

  it('PD_ZEROINIT and PD_FIXEDZERO give zero-filled pages; PD_NOINIT and PD_FIXED commit too', () => {
    const { kernel, dev } = boot();
    const dirty = dev._PageAllocate(8, PG_SYS, 0, 0, 0, 0, null, 0).edx;
    kernel.writeLinear(null, dirty, new Uint8Array(8 * 4096).fill(0xaa));
    expect(dev._PageFree(dirty, 0)).not.toBe(0); // dirty frames on top of the free list
    const base = reserve(dev, PR_SYSTEM, 8);
    expect(dev._PageCommit(base, 4, PD_ZEROINIT, 0, PC_WRITEABLE)).not.toBe(0);
    expect(dev._PageCommit(base + 4, 2, PD_FIXEDZERO, 0, PC_WRITEABLE)).not.toBe(0);
    expect(kernel.readLinear(null, base * 4096, 6 * 4096)).toEqual(new Uint8Array(6 * 4096));
    expect(dev._PageCommit(base + 6, 1, PD_NOINIT, 0, PC_WRITEABLE)).not.toBe(0);
    expect(dev._PageCommit(base + 7, 1, PD_FIXED, 0, PC_WRITEABLE)).not.toBe(0);
    expect(pte(dev, base + 7) & P_PRES).toBe(P_PRES);
    expect(kernel.check()).toEqual([]);
  });

  it.each([0, 5, 0xffffffff])('an invalid pager handle (%i) returns 0', (hpd) => {
    const { dev } = boot();
    const base = reserve(dev, PR_SYSTEM, 1);
    expect(dev._PageCommit(base, 1, hpd, 0, PC_WRITEABLE)).toBe(0);
    expect(pte(dev, base) & P_PRES).toBe(0);
  });

  it('a page already committed fails, all or nothing', () => {
    const { kernel, dev } = boot();
    const base = reserve(dev, PR_SYSTEM, 2);
    expect(dev._PageCommit(base + 1, 1, PD_ZEROINIT, 0, PC_WRITEABLE)).not.toBe(0);
    const free = freePages(dev);
    expect(dev._PageCommit(base + 1, 1, PD_ZEROINIT, 0, PC_WRITEABLE)).toBe(0);
    expect(dev._PageCommit(base, 2, PD_ZEROINIT, 0, PC_WRITEABLE)).toBe(0);
    expect(pte(dev, base) & P_PRES).toBe(0);
    expect(freePages(dev)).toBe(free);
    expect(kernel.check()).toEqual([]);
  });

  it('pages outside one _PageReserve block fail', () => {
    const { dev } = boot();
    const base = reserve(dev, 0x90000, 2);
    expect(dev._PageCommit(base + 1, 2, PD_ZEROINIT, 0, 0)).toBe(0); // runs past the block
    expect(dev._PageCommit(0x90010, 1, PD_ZEROINIT, 0, 0)).toBe(0); // free linear space
  });
});

describe('_PageDecommit and _PageFree', () => {
  it('_PageDecommit gives the frames back; the pages stay reserved and fault', () => {
    const { kernel, dev } = boot();
    const base = reserve(dev, PR_SYSTEM, 3);
    const free = freePages(dev);
    expect(dev._PageCommit(base, 3, PD_ZEROINIT, 0, PC_WRITEABLE)).not.toBe(0);
    expect(freePages(dev)).toBe(free - 3);
    expect(dev._PageDecommit(base + 1, 2, 0)).not.toBe(0);
    expect(freePages(dev)).toBe(free - 1);
    expect(query(dev, (base + 1) * 4096)[4]).toBe(MEM_RESERVE);
    expect(() => kernel.readLinear(null, (base + 1) * 4096, 1)).toThrow(PageFaultError);
    expect(dev._PageDecommit(base + 1, 1, 0)).toBe(0); // no longer committed
    expect(dev._PageDecommit(base, 1, 1)).toBe(0); // flags must be 0
    expect(pte(dev, base) & P_PRES).toBe(P_PRES);
    expect(kernel.check()).toEqual([]);
  });

  it('_PageFree of a reserved block frees its committed frames and its linear space', () => {
    const { kernel, dev } = boot();
    const address = dev._PageReserve(0x90000, 4, 0);
    const free = freePages(dev); // after the page table for 90000h was made
    expect(dev._PageCommit(0x90001, 2, PD_ZEROINIT, 0, RW)).not.toBe(0);
    expect(dev._PageFree(address + 4096, 0)).toBe(0); // not the block's handle
    expect(dev._PageFree(address, 0)).not.toBe(0);
    expect(freePages(dev)).toBe(free);
    expect(query(dev, address + 4096)[4]).toBe(MEM_FREE);
    expect(dev._PageReserve(0x90000, 4, 0)).toBe(address);
    expect(kernel.check()).toEqual([]);
  });
});

describe('PR_STATIC (Win95 DDK _PageReserve): no commit, decommit or free without a static flag', () => {
  it.each([PR_SHARED, PR_SYSTEM])(
    'a reservation at %s: each returns 0 without PC_STATIC',
    (arena) => {
      const { kernel, dev } = boot();
      const base = reserve(dev, arena, 2, PR_STATIC);
      expect(dev._PageCommit(base, 2, PD_ZEROINIT, 0, PC_WRITEABLE)).toBe(0);
      expect(dev.lastError?.reason).toContain('PR_STATIC');
      expect(pte(dev, base) & P_PRES).toBe(0);
      expect(dev._PageCommit(base, 2, PD_ZEROINIT, 0, PC_WRITEABLE | PC_STATIC)).toBe(1);
      expect(dev._PageDecommit(base, 1, 0)).toBe(0);
      expect(pte(dev, base) & P_PRES).toBe(P_PRES);
      expect(dev._PageDecommit(base, 1, PC_STATIC)).toBe(1);
      expect(pte(dev, base) & P_PRES).toBe(0);
      expect(dev._PageFree(base * 4096, 0)).toBe(0);
      expect(pte(dev, base + 1) & P_PRES).toBe(P_PRES);
      expect(dev._PageFree(base * 4096, PC_STATIC)).toBe(1);
      expect(kernel.check({ final: true })).toEqual([]);
    },
  );

  it('a reservation without PR_STATIC needs no flag; PC_STATIC is no _PageFree flag elsewhere', () => {
    const { kernel, dev } = boot();
    const base = reserve(dev, PR_SHARED, 1);
    expect(dev._PageCommit(base, 1, PD_ZEROINIT, 0, PC_WRITEABLE)).toBe(1);
    expect(dev._PageDecommit(base, 1, 0)).toBe(1);
    expect(dev._PageFree(base * 4096, 0)).toBe(1);
    const block = dev._PageAllocate(1, PG_SYS, 0, 0, 0, 0, 0, 0).eax;
    expect(dev._PageFree(block, PC_STATIC)).toBe(0);
    expect(dev._PageFree(block, 0)).toBe(1);
    expect(kernel.check({ final: true })).toEqual([]);
  });
});

describe('_PageQuery', () => {
  it('fills MEMORY_BASIC_INFORMATION in order for a committed run and returns 28', () => {
    const { dev } = boot();
    const base = reserve(dev, 0x90000, 4);
    expect(dev._PageCommit(base + 1, 2, PD_ZEROINIT, 0, RW)).not.toBe(0);
    // BaseAddress, AllocationBase, AllocationProtect, RegionSize, State, Protect, Type
    expect(query(dev, (base + 1) * 4096 + 0x123)).toEqual([
      (base + 1) * 4096,
      base * 4096,
      PAGE_NOACCESS,
      0x2000,
      MEM_COMMIT,
      PAGE_READWRITE,
      MEM_PRIVATE,
    ]);
  });

  it('reserved pages are MEM_RESERVE, and a run ends where its allocation ends', () => {
    const { dev } = boot();
    const first = reserve(dev, 0x90000, 2);
    reserve(dev, 0x90002, 3);
    const info = query(dev, first * 4096);
    expect(info.slice(0, 2)).toEqual([first * 4096, first * 4096]);
    expect(info[3]).toBe(0x2000);
    expect(info[4]).toBe(MEM_RESERVE);
    expect(query(dev, 0x90003000).slice(0, 5)).toEqual([
      0x90003000,
      0x90002000,
      PAGE_NOACCESS,
      0x2000,
      MEM_RESERVE,
    ]);
  });

  it('free pages are MEM_FREE with AllocationBase, protections and Type 0', () => {
    const { dev } = boot();
    reserve(dev, 0x90010, 1);
    expect(query(dev, 0x90000000)).toEqual([0x90000000, 0, 0, 0x10000, MEM_FREE, 0, 0]);
  });

  it('PC_USER|PC_WRITEABLE is PAGE_READWRITE, PC_USER PAGE_READONLY, no PC_USER PAGE_NOACCESS', () => {
    const { dev } = boot();
    const base = reserve(dev, PR_SHARED, 3);
    expect(dev._PageCommit(base, 1, PD_ZEROINIT, 0, RW)).not.toBe(0);
    expect(dev._PageCommit(base + 1, 1, PD_ZEROINIT, 0, PC_USER)).not.toBe(0);
    expect(dev._PageCommit(base + 2, 1, PD_ZEROINIT, 0, PC_WRITEABLE)).not.toBe(0);
    const protect = [0, 1, 2].map((i) => query(dev, (base + i) * 4096)[5]);
    expect(protect).toEqual([PAGE_READWRITE, PAGE_READONLY, PAGE_NOACCESS]);
    expect([0, 1, 2].map((i) => query(dev, (base + i) * 4096)[3])).toEqual([
      0x1000, 0x1000, 0x1000,
    ]);
  });

  it('cbmbi smaller than 28 returns 0 and writes nothing; a larger one writes 28 bytes', () => {
    const { dev } = boot();
    const mbi = new Uint32Array(8).fill(GUARD);
    expect(dev._PageQuery(0x90000000, mbi, MBI_SIZE - 1)).toBe(0);
    expect([...mbi]).toEqual(new Array(8).fill(GUARD));
    expect(dev._PageQuery(0x90000000, mbi, 32)).toBe(MBI_SIZE);
    expect(mbi[4]).toBe(MEM_FREE);
    expect(mbi[7]).toBe(GUARD);
  });
});

describe('_PageModifyPermissions', () => {
  it('returns the old PC_USER|PC_WRITEABLE bits of the first page and applies (old AND permand) OR permor', () => {
    const { dev } = boot();
    const base = reserve(dev, PR_SHARED, 2);
    expect(dev._PageCommit(base, 1, PD_ZEROINIT, 0, RW)).not.toBe(0);
    expect(dev._PageCommit(base + 1, 1, PD_ZEROINIT, 0, PC_USER)).not.toBe(0);
    const frame = pte(dev, base) >>> 12;
    expect(dev._PageModifyPermissions(base, 2, ~PC_WRITEABLE >>> 0, 0)).toBe(RW);
    const bits = [0, 1].map((i) => pte(dev, base + i) & (P_PRES | P_WRITE | P_USER));
    expect(bits).toEqual([P_PRES | P_USER, P_PRES | P_USER]);
    expect(pte(dev, base) >>> 12).toBe(frame);
    expect(dev._PageModifyPermissions(base + 1, 1, 0, PC_WRITEABLE)).toBe(PC_USER);
    expect(pte(dev, base + 1) & (P_WRITE | P_USER)).toBe(P_WRITE);
  });

  it('returns 0FFFFFFFFh when a page is not committed, and changes nothing', () => {
    const { dev } = boot();
    const base = reserve(dev, PR_SHARED, 2);
    expect(dev._PageCommit(base, 1, PD_ZEROINIT, 0, RW)).not.toBe(0);
    expect(dev._PageModifyPermissions(base, 2, 0, 0)).toBe(ERROR_DWORD);
    expect(pte(dev, base) & (P_WRITE | P_USER)).toBe(P_WRITE | P_USER);
    expect(dev._PageModifyPermissions(base + 1, 1, 0, PC_USER)).toBe(ERROR_DWORD);
  });

  it('pages reserved with PR_STATIC change only when permor has PC_STATIC', () => {
    const { dev } = boot();
    const base = reserve(dev, PR_SHARED, 1, PR_STATIC);
    expect(dev._PageCommit(base, 1, PD_ZEROINIT, 0, PC_WRITEABLE | PC_STATIC)).not.toBe(0);
    expect(dev._PageModifyPermissions(base, 1, 0, PC_USER)).toBe(ERROR_DWORD);
    expect(pte(dev, base) & P_USER).toBe(0);
    expect(dev._PageModifyPermissions(base, 1, 0xffffffff, PC_USER | PC_STATIC)).toBe(PC_WRITEABLE);
    expect(pte(dev, base) & (P_WRITE | P_USER)).toBe(P_WRITE | P_USER);
  });

  it('a ring-3 write to a page made read-only faults; reads still work', () => {
    const { kernel, dev } = boot();
    const vm = kernel.createVM();
    const inVm = dev.inVM(vm.handle);
    const base = reserve(inVm, PR_PRIVATE, 1);
    expect(inVm._PageCommit(base, 1, PD_ZEROINIT, 0, RW)).not.toBe(0);
    const address = base * 4096 + 0x40;
    kernel.writeLinear(vm, address, Uint8Array.of(1, 2, 3));
    expect(inVm._PageModifyPermissions(base, 1, ~PC_WRITEABLE >>> 0, 0)).toBe(RW);
    let fault: unknown;
    try {
      kernel.writeLinear(vm, address, Uint8Array.of(9));
    } catch (error) {
      fault = error;
    }
    expect(fault).toBeInstanceOf(PageFaultError);
    expect(fault).toMatchObject({ address, write: true, user: true, present: true });
    expect(kernel.readLinear(vm, address, 3)).toEqual(Uint8Array.of(1, 2, 3));
    expect(inVm._PageModifyPermissions(base, 1, 0xffffffff, PC_WRITEABLE)).toBe(PC_USER);
    kernel.writeLinear(vm, address, Uint8Array.of(9));
    expect(kernel.readLinear(vm, address, 1)).toEqual(Uint8Array.of(9));
  });
});
