/**
 * Conformance: _PageAllocate, _PageFree, _PageReAllocate, _PageLock, _PageUnLock and
 * _GetFreePageCount (reference §2.1–2.4, §2.14). Results of the two-register services are
 * { eax, edx } and fail as { 0, 0 }; the others return nonzero or 0.
 */
import { describe, expect, it } from 'vitest';
import {
  createKernel,
  presets,
  type DeviceContext,
  type Kernel,
  type MachineOptions,
  PG_HOOKED,
  PG_PRIVATE,
  PG_RESERVED1,
  PG_SYS,
  PG_VM,
  P_ACC,
  PageContig,
  PageDEBUGNulFault,
  PageFixed,
  PageLocked,
  PageLockedIfDP,
  PageMapFreePhysReg,
  PageMarkPageOut,
  PageNoCopy,
  PageUseAlign,
  PageZeroInit,
  PageZeroReInit,
} from '../../src/index.js';

const FAIL = { eax: 0, edx: 0 };

/** A kernel with one device, at Sys_Critical_Init (or through Init_Complete when `done`). */
function boot(
  done = false,
  options: Partial<MachineOptions> = presets.testMin,
): { kernel: Kernel; dev: DeviceContext } {
  const kernel = createKernel(options);
  const dev = kernel.device('VDD');
  kernel.systemControl('Sys_Critical_Init');
  if (done) {
    kernel.systemControl('Device_Init');
    kernel.systemControl('Init_Complete');
  }
  return { kernel, dev };
}

const alloc = (dev: DeviceContext, nPages: number, flags = 0): { eax: number; edx: number } =>
  dev._PageAllocate(nPages, PG_SYS, 0, 0, 0, 0, null, flags);

const freePages = (dev: DeviceContext): number => dev._GetFreePageCount(0).eax;

/** Physical addresses of the pages of a block. */
function physOf(dev: DeviceContext, address: number, count: number): number[] {
  const buffer = new Uint32Array(count);
  expect(dev._CopyPageTable(address >>> 12, count, buffer, 0)).not.toBe(0);
  return [...buffer].map((pte) => (pte & ~0xfff) >>> 0);
}

/** Fills nearly every free frame with `byte`, so that new blocks get dirty frames. */
function dirtyFreeFrames(kernel: Kernel, dev: DeviceContext, byte: number): void {
  const pages = freePages(dev) - 4;
  const block = alloc(dev, pages);
  expect(block.eax).not.toBe(0);
  kernel.writeLinear(null, block.edx, new Uint8Array(pages * 4096).fill(byte));
  expect(dev._PageFree(block.eax, 0)).not.toBe(0);
}

/** Breaks the free list into scattered frames: every other page of a 16-page run is freed. */
function fragmentFreeList(dev: DeviceContext): void {
  const singles = Array.from({ length: 16 }, () => alloc(dev, 1).eax);
  singles.forEach((handle, i) => {
    if (i % 2 === 0) expect(dev._PageFree(handle, 0)).not.toBe(0);
  });
}

describe('_PageAllocate', () => {
  it('returns { eax: handle, edx: linear address } and takes nPages frames off the free list', () => {
    const { kernel, dev } = boot();
    const before = freePages(dev);
    const block = alloc(dev, 3);
    expect(block.eax).not.toBe(0);
    expect(block.edx).not.toBe(0);
    expect(block.edx % 4096).toBe(0);
    expect(freePages(dev)).toBe(before - 3);
    kernel.writeLinear(null, block.edx + 2 * 4096, Uint8Array.of(42));
    expect(kernel.readLinear(null, block.edx + 2 * 4096, 1)[0]).toBe(42);
    expect(kernel.check()).toEqual([]);
  });

  it('nPages 0 fails with 0/0', () => {
    const { dev } = boot();
    expect(alloc(dev, 0)).toEqual(FAIL);
  });

  it.each([PG_RESERVED1, PG_PRIVATE, 8])(
    'pType %i (not PG_VM, PG_SYS or PG_HOOKED) fails with 0/0',
    (pType) => {
      const { kernel, dev } = boot();
      expect(dev._PageAllocate(1, pType, kernel.systemVmHandle, 0, 0, 0, null, 0)).toEqual(FAIL);
    },
  );

  it('PG_VM and PG_HOOKED take a VM handle; an invalid VM handle fails with 0/0', () => {
    const { kernel, dev } = boot();
    expect(dev._PageAllocate(1, PG_VM, kernel.systemVmHandle, 0, 0, 0, null, 0).eax).not.toBe(0);
    expect(dev._PageAllocate(1, PG_HOOKED, kernel.systemVmHandle, 0, 0, 0, null, 0).eax).not.toBe(
      0,
    );
    expect(dev._PageAllocate(1, PG_VM, 0, 0, 0, 0, null, 0)).toEqual(FAIL);
    expect(dev._PageAllocate(1, PG_VM, 0x1234, 0, 0, 0, null, 0)).toEqual(FAIL);
  });

  it('VM must be 0 for PG_SYS', () => {
    const { kernel, dev } = boot();
    expect(dev._PageAllocate(1, PG_SYS, kernel.systemVmHandle, 0, 0, 0, null, 0)).toEqual(FAIL);
    expect(dev.lastError?.reason).toMatch(/PG_SYS/);
  });

  it('reserved flag bits fail with 0/0', () => {
    const { dev } = boot(true);
    expect(alloc(dev, 1, PageDEBUGNulFault)).toEqual(FAIL);
    expect(alloc(dev, 1, PageZeroReInit)).toEqual(FAIL);
    expect(alloc(dev, 1, 0x80000000)).toEqual(FAIL);
  });

  it('PageLocked and PageLockedIfDP are mutually exclusive; PageLockedIfDP not before Init_Complete', () => {
    const { kernel, dev } = boot();
    expect(alloc(dev, 1, PageLockedIfDP)).toEqual(FAIL);
    kernel.systemControl('Device_Init');
    kernel.systemControl('Init_Complete');
    expect(alloc(dev, 1, PageLocked | PageLockedIfDP)).toEqual(FAIL);
    expect(alloc(dev, 1, PageLockedIfDP).eax).not.toBe(0);
    expect(alloc(dev, 1, PageLocked).eax).not.toBe(0);
  });

  it('PageZeroInit zeroes the block', () => {
    const { kernel, dev } = boot();
    dirtyFreeFrames(kernel, dev, 0xcc);
    const dirty = alloc(dev, 2);
    expect(kernel.readLinear(null, dirty.edx, 8).every((b) => b === 0xcc)).toBe(true);
    expect(dev._PageFree(dirty.eax, 0)).not.toBe(0);
    const block = alloc(dev, 2, PageZeroInit);
    expect(kernel.readLinear(null, block.edx, 2 * 4096).every((b) => b === 0)).toBe(true);
  });

  it('PageContig without PageUseAlign is ignored, and *PhysAddrPtr is written only with PageUseAlign', () => {
    const { dev } = boot();
    expect(alloc(dev, 2, PageContig).eax).not.toBe(0);
    const ptr = Uint32Array.of(0xdeadbeef);
    expect(dev._PageAllocate(1, PG_SYS, 0, 0, 0, 0, ptr, 0).eax).not.toBe(0);
    expect(ptr[0]).toBe(0xdeadbeef);
  });
});

describe('_PageAllocate(PageUseAlign)', () => {
  const aligned = (
    dev: DeviceContext,
    n: number,
    mask: number,
    min: number,
    max: number,
    flags: number,
    ptr = new Uint32Array(1),
  ) => dev._PageAllocate(n, PG_SYS, 0, mask, min, max, ptr, flags);

  it.each([0x00, 0x01, 0x03, 0x07, 0x0f, 0x1f])(
    'AlignMask %i with PageContig gives contiguous frames aligned to (AlignMask+1) pages, *PhysAddrPtr = first frame',
    (mask) => {
      const { kernel, dev } = boot();
      fragmentFreeList(dev);
      const ptr = new Uint32Array(1);
      const block = aligned(dev, 3, mask, 0, 0x1000, PageUseAlign | PageFixed | PageContig, ptr);
      expect(block.eax).not.toBe(0);
      const phys = physOf(dev, block.edx, 3);
      expect(ptr[0]).toBe(phys[0]);
      expect(phys[0]! % ((mask + 1) * 4096)).toBe(0);
      expect(phys).toEqual([phys[0]!, phys[0]! + 0x1000, phys[0]! + 0x2000]);
      expect(kernel.check()).toEqual([]);
    },
  );

  it('frames lie in [minPhys, maxPhys)', () => {
    const { dev } = boot();
    const ptr = new Uint32Array(1);
    const block = aligned(dev, 4, 0, 0x180, 0x190, PageUseAlign | PageFixed, ptr);
    expect(block.eax).not.toBe(0);
    const pages = physOf(dev, block.edx, 4).map((address) => address >>> 12);
    for (const page of pages) expect(page >= 0x180 && page < 0x190).toBe(true);
    expect(ptr[0]).toBe(pages[0]! * 4096);
    expect(aligned(dev, 17, 0, 0x180, 0x190, PageUseAlign | PageFixed)).toEqual(FAIL);
  });

  it('maxPhys 0FFFFFFFFh is treated as 1000h (16 MiB), as Win95 does', () => {
    const { dev } = boot(false, { ...presets.testMin, ramPages: 0x1100 });
    expect(aligned(dev, 1, 0, 0x1000, 0xffffffff, PageUseAlign | PageFixed)).toEqual(FAIL);
    const low = new Uint32Array(1);
    expect(aligned(dev, 1, 0, 0, 0xffffffff, PageUseAlign | PageFixed, low).eax).not.toBe(0);
    expect(low[0]! >>> 12).toBeLessThan(0x1000);
    const high = new Uint32Array(1);
    expect(aligned(dev, 1, 0, 0x1000, 0x1100, PageUseAlign | PageFixed, high).eax).not.toBe(0);
    expect(high[0]! >>> 12).toBeGreaterThanOrEqual(0x1000);
  });

  it('needs PageFixed', () => {
    const { dev } = boot();
    expect(aligned(dev, 1, 0, 0, 0x1000, PageUseAlign)).toEqual(FAIL);
  });

  it.each([0x02, 0x05, 0x3f])('AlignMask %i is not a documented value and fails', (mask) => {
    const { dev } = boot();
    expect(aligned(dev, 1, mask, 0, 0x1000, PageUseAlign | PageFixed)).toEqual(FAIL);
  });

  it('works only during initialization', () => {
    const { kernel, dev } = boot(true);
    expect(aligned(dev, 1, 0, 0, 0x1000, PageUseAlign | PageFixed).eax).not.toBe(0);
    kernel.systemControl('Sys_VM_Init');
    expect(aligned(dev, 1, 0, 0, 0x1000, PageUseAlign | PageFixed)).toEqual(FAIL);
  });
});

describe('_PageLock and _PageUnLock', () => {
  it('lock counts nest: five locks need five unlocks, a sixth unlock fails', () => {
    const { dev } = boot(true);
    const block = alloc(dev, 2);
    for (let i = 0; i < 5; i++) expect(dev._PageLock(block.eax, 2, 0, 0)).not.toBe(0);
    for (let i = 0; i < 5; i++) expect(dev._PageUnLock(block.eax, 2, 0, 0)).not.toBe(0);
    expect(dev._PageUnLock(block.eax, 2, 0, 0)).toBe(0);
  });

  it('unlock of pages that are not locked fails, and changes no other page', () => {
    const { dev } = boot(true);
    const block = alloc(dev, 3);
    expect(dev._PageUnLock(block.eax, 1, 0, 0)).toBe(0);
    expect(dev._PageLock(block.eax, 1, 1, 0)).not.toBe(0);
    expect(dev._PageUnLock(block.eax, 2, 1, 0)).toBe(0);
    expect(dev._PageUnLock(block.eax, 1, 1, 0)).not.toBe(0);
  });

  it('a PageLocked block starts locked once', () => {
    const { dev } = boot(true);
    const block = alloc(dev, 1, PageLocked);
    expect(dev._PageUnLock(block.eax, 1, 0, 0)).not.toBe(0);
    expect(dev._PageUnLock(block.eax, 1, 0, 0)).toBe(0);
  });

  it('PageOff + nPages past the block fails; an invalid handle fails', () => {
    const { dev } = boot(true);
    const block = alloc(dev, 2);
    expect(dev._PageLock(block.eax, 2, 1, 0)).toBe(0);
    expect(dev._PageLock(block.eax, 3, 0, 0)).toBe(0);
    expect(dev._PageUnLock(block.eax, 1, 2, 0)).toBe(0);
    expect(dev._PageLock(block.eax + 0x100000, 1, 0, 0)).toBe(0);
    expect(dev._PageLock(block.eax, 1, 1, 0)).not.toBe(0);
  });

  it('PageLockedIfDP is refused before Init_Complete, then a no-op success (the pager is not the MS-DOS pager)', () => {
    const { kernel, dev } = boot();
    const block = alloc(dev, 1);
    expect(dev._PageLock(block.eax, 1, 0, PageLockedIfDP)).toBe(0);
    kernel.systemControl('Device_Init');
    kernel.systemControl('Init_Complete');
    expect(dev._PageLock(block.eax, 1, 0, PageLockedIfDP)).not.toBe(0);
    expect(dev._PageUnLock(block.eax, 1, 0, 0)).toBe(0);
  });

  it('reserved flag bits fail: PageMarkPageOut is an unlock flag only', () => {
    const { dev } = boot(true);
    const block = alloc(dev, 1);
    expect(dev._PageLock(block.eax, 1, 0, PageMarkPageOut)).toBe(0);
    expect(dev._PageLock(block.eax, 1, 0, PageZeroInit)).toBe(0);
    expect(dev._PageUnLock(block.eax, 1, 0, PageZeroInit)).toBe(0);
  });

  it('_PageUnLock(PageMarkPageOut) clears P_ACC when the lock count reaches 0', () => {
    const { kernel, dev } = boot(true);
    const block = alloc(dev, 1);
    const pte = (): number => {
      const buffer = new Uint32Array(1);
      expect(dev._CopyPageTable(block.edx >>> 12, 1, buffer, 0)).not.toBe(0);
      return buffer[0]!;
    };
    expect(dev._PageLock(block.eax, 1, 0, 0)).not.toBe(0);
    expect(dev._PageLock(block.eax, 1, 0, 0)).not.toBe(0);
    kernel.readLinear(null, block.edx, 1);
    expect(pte() & P_ACC).toBe(P_ACC);
    expect(dev._PageUnLock(block.eax, 1, 0, PageMarkPageOut)).not.toBe(0);
    expect(pte() & P_ACC).toBe(P_ACC);
    expect(dev._PageUnLock(block.eax, 1, 0, PageMarkPageOut)).not.toBe(0);
    expect(pte() & P_ACC).toBe(0);
  });

  it('PageFixed blocks are always locked: lock and unlock do nothing and succeed', () => {
    const { kernel, dev } = boot(true);
    const block = alloc(dev, 2, PageFixed);
    expect(dev._PageUnLock(block.eax, 2, 0, 0)).not.toBe(0);
    expect(dev._PageUnLock(block.eax, 2, 0, 0)).not.toBe(0);
    expect(dev._PageLock(block.eax, 2, 0, 0)).not.toBe(0);
    expect(kernel.check()).toEqual([]);
  });
});

describe('_PageFree', () => {
  it('frees a block: frames back on the free list, handle invalid afterwards', () => {
    const { kernel, dev } = boot(true);
    const before = freePages(dev);
    const block = alloc(dev, 4);
    expect(dev._PageFree(block.eax, 0)).not.toBe(0);
    expect(freePages(dev)).toBe(before);
    expect(dev._PageFree(block.eax, 0)).toBe(0);
    expect(dev._PageLock(block.eax, 1, 0, 0)).toBe(0);
    expect(kernel.check()).toEqual([]);
  });

  it('freeing a locked block is not an error', () => {
    const { kernel, dev } = boot(true);
    const before = freePages(dev);
    const block = alloc(dev, 2, PageLocked);
    expect(dev._PageLock(block.eax, 2, 0, 0)).not.toBe(0);
    expect(dev._PageFree(block.eax, 0)).not.toBe(0);
    expect(freePages(dev)).toBe(before);
    expect(kernel.check()).toEqual([]);
  });

  it('flags ≠ 0 fails and keeps the block', () => {
    const { dev } = boot(true);
    const block = alloc(dev, 1);
    expect(dev._PageFree(block.eax, 1)).toBe(0);
    expect(dev._PageFree(block.eax, 0)).not.toBe(0);
  });
});

describe('_PageReAllocate', () => {
  it('copies the contents into the new block; the old handle becomes invalid', () => {
    const { kernel, dev } = boot(true);
    const old = alloc(dev, 2);
    kernel.writeLinear(null, old.edx + 4096 + 10, Uint8Array.of(1, 2, 3));
    const made = dev._PageReAllocate(old.eax, 4, 0);
    expect(made.eax).not.toBe(0);
    expect([...kernel.readLinear(null, made.edx + 4096 + 10, 3)]).toEqual([1, 2, 3]);
    kernel.writeLinear(null, made.edx + 3 * 4096, Uint8Array.of(9));
    expect(dev._PageFree(old.eax, 0)).toBe(0);
    expect(dev._PageFree(made.eax, 0)).not.toBe(0);
    expect(kernel.check()).toEqual([]);
  });

  it('PageZeroReInit zeroes every page; PageNoCopy does not copy', () => {
    const { kernel, dev } = boot(true);
    dirtyFreeFrames(kernel, dev, 0x77);
    const old = alloc(dev, 1);
    kernel.writeLinear(null, old.edx, Uint8Array.of(5, 5, 5, 5));
    const zeroed = dev._PageReAllocate(old.eax, 2, PageZeroReInit);
    expect(kernel.readLinear(null, zeroed.edx, 2 * 4096).every((b) => b === 0)).toBe(true);
    kernel.writeLinear(null, zeroed.edx, Uint8Array.of(6, 6, 6, 6));
    const uncopied = dev._PageReAllocate(zeroed.eax, 2, PageNoCopy);
    expect(uncopied.eax).not.toBe(0);
    expect([...kernel.readLinear(null, uncopied.edx, 4)]).not.toEqual([6, 6, 6, 6]);
  });

  it('reallocating a PageFixed block gives fixed pages', () => {
    const { kernel, dev } = boot(true);
    const old = alloc(dev, 1, PageFixed);
    const made = dev._PageReAllocate(old.eax, 2, 0);
    expect(made.eax).not.toBe(0);
    expect(dev._PageUnLock(made.eax, 2, 0, 0)).not.toBe(0);
    expect(dev._PageUnLock(made.eax, 2, 0, 0)).not.toBe(0);
    expect(kernel.check()).toEqual([]);
  });

  it('fails for a PageUseAlign block, and the old handle stays valid', () => {
    const { kernel, dev } = boot();
    const old = dev._PageAllocate(
      1,
      PG_SYS,
      0,
      0,
      0,
      0x1000,
      new Uint32Array(1),
      PageUseAlign | PageFixed,
    );
    kernel.writeLinear(null, old.edx, Uint8Array.of(8));
    expect(dev._PageReAllocate(old.eax, 2, 0)).toEqual(FAIL);
    expect(kernel.readLinear(null, old.edx, 1)[0]).toBe(8);
    expect(dev._PageFree(old.eax, 0)).not.toBe(0);
  });

  it('nPages 0, an invalid handle or out of memory fail with 0/0, and the old handle stays valid', () => {
    const { kernel, dev } = boot(true);
    const old = alloc(dev, 1);
    expect(dev._PageReAllocate(old.eax, 0, 0)).toEqual(FAIL);
    expect(dev._PageReAllocate(old.eax + 0x200000, 1, 0)).toEqual(FAIL);
    expect(dev._PageReAllocate(old.eax, freePages(dev) + 8, 0)).toEqual(FAIL);
    expect(dev._PageLock(old.eax, 1, 0, 0)).not.toBe(0);
    expect(dev._PageFree(old.eax, 0)).not.toBe(0);
    expect(kernel.check()).toEqual([]);
  });
});

describe('_GetFreePageCount', () => {
  it('returns { eax: free pages, edx: lockable pages } that follow allocation and free', () => {
    const { dev } = boot(true);
    const before = dev._GetFreePageCount(0);
    expect(before.eax).toBeGreaterThan(0);
    expect(before.edx).toBeGreaterThan(0);
    const block = alloc(dev, 5);
    expect(dev._GetFreePageCount(0).eax).toBe(before.eax - 5);
    dev._PageFree(block.eax, 0);
    expect(dev._GetFreePageCount(0)).toEqual(before);
  });

  it('flags ≠ 0 fails with 0/0 [I]', () => {
    const { dev } = boot(true);
    expect(dev._GetFreePageCount(1)).toEqual(FAIL);
  });

  it('calls Request 1 of the free-physical-region callbacks when an allocation is short', () => {
    const kernel = createKernel(presets.testMin);
    const dev = kernel.device('CACHE');
    const calls: Array<[number, number]> = [];
    let mapped = 0;
    kernel.systemControl('Sys_Critical_Init');
    const region = dev._PageAllocate(240, PG_SYS, 0, 0, 0, 0, null, PageMapFreePhysReg).edx >>> 12;
    expect(
      dev._SetFreePhysRegCalBk((request, count) => {
        calls.push([request, count]);
        if (request === 0 && dev._MapFreePhysReg(region + mapped, count, 0) !== 0) mapped += count;
        if (request === 1 && dev._UnmapFreePhysReg(region + mapped - count, count, 0) !== 0)
          mapped -= count;
        return true;
      }, 0),
    ).not.toBe(0);
    kernel.systemControl('Device_Init');
    kernel.systemControl('Init_Complete');
    expect(freePages(dev)).toBe(0);
    const block = alloc(dev, 3);
    expect(block.eax).not.toBe(0);
    expect(calls[calls.length - 1]).toEqual([1, 3]);
    expect(calls.slice(0, -1).every(([request]) => request === 0)).toBe(true);
    expect(kernel.check({ final: true })).toEqual([]);
  });
});
