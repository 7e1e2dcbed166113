/**
 * Conformance: free physical regions — _PageAllocate(PageMapFreePhysReg), _MapFreePhysReg
 * (seed 000) and _UnmapFreePhysReg (reference §2.1, §2.18). Each DDK failure case is its own
 * test; the [I] decisions tested are those the service modules' headers state.
 */
import { describe, expect, it } from 'vitest';
import {
  createKernel,
  presets,
  type DeviceContext,
  type Kernel,
  PageFaultError,
  PG_SYS,
  PG_TYPE,
  PG_TYPE_SHIFT,
  PG_VM,
  P_PRES,
  PageFixed,
  PageLocked,
  PageMapFreePhysReg,
  PageZeroInit,
} from '../../src/index.js';

interface Machine {
  kernel: Kernel;
  dev: DeviceContext;
  other: DeviceContext;
  /** First linear page of an 8-page region made by `dev` during Sys_Critical_Init. */
  region: number;
}

const REGION_PAGES = 8;

/** Boots to Sys_Critical_Init with two devices; `dev` makes a region of `pages` pages. */
function bootWithRegion(pages = REGION_PAGES): Machine {
  const kernel = createKernel(presets.testMin);
  const dev = kernel.device('PAGESWAP', { initOrder: 0x1c000000 });
  const other = kernel.device('OTHER', { initOrder: 0x80000000 });
  kernel.systemControl('Sys_Critical_Init');
  const made = dev._PageAllocate(pages, PG_SYS, 0, 0, 0, 0, null, PageMapFreePhysReg);
  expect(made.eax).not.toBe(0);
  return { kernel, dev, other, region: made.edx >>> 12 };
}

/** The rest of initialization: every device has received Init_Complete. */
function finishInit(kernel: Kernel): void {
  kernel.systemControl('Device_Init');
  kernel.systemControl('Init_Complete');
}

function ready(pages = REGION_PAGES): Machine {
  const m = bootWithRegion(pages);
  finishInit(m.kernel);
  return m;
}

const freePages = (dev: DeviceContext): number => dev._GetFreePageCount(0).eax;

function ptes(dev: DeviceContext, page: number, count: number): number[] {
  const buffer = new Uint32Array(count);
  expect(dev._CopyPageTable(page, count, buffer, 0)).not.toBe(0);
  return [...buffer];
}

const presence = (dev: DeviceContext, page: number, count: number): boolean[] =>
  ptes(dev, page, count).map((pte) => (pte & P_PRES) !== 0);

describe('_PageAllocate(PageMapFreePhysReg)', () => {
  it('makes a PG_SYS region whose every page starts not present, taking no frames', () => {
    const kernel = createKernel(presets.testMin);
    const dev = kernel.device('PAGESWAP');
    kernel.systemControl('Sys_Critical_Init');
    const before = freePages(dev);
    const made = dev._PageAllocate(REGION_PAGES, PG_SYS, 0, 0, 0, 0, null, PageMapFreePhysReg);
    expect(made.eax).not.toBe(0);
    expect(made.edx % 4096).toBe(0);
    const entries = ptes(dev, made.edx >>> 12, REGION_PAGES);
    expect(entries.map((pte) => pte & P_PRES)).toEqual(new Array(REGION_PAGES).fill(0));
    expect(entries.map((pte) => (pte & PG_TYPE) >>> PG_TYPE_SHIFT)).toEqual(
      new Array(REGION_PAGES).fill(PG_SYS),
    );
    expect(() => kernel.readLinear(null, made.edx, 1)).toThrow(PageFaultError);
    expect(freePages(dev)).toBe(before);
    expect(kernel.check()).toEqual([]);
  });

  it('pType other than PG_SYS fails with 0/0', () => {
    const kernel = createKernel(presets.testMin);
    const dev = kernel.device('PAGESWAP');
    kernel.systemControl('Sys_Critical_Init');
    expect(
      dev._PageAllocate(4, PG_VM, kernel.systemVmHandle, 0, 0, 0, null, PageMapFreePhysReg),
    ).toEqual({ eax: 0, edx: 0 });
  });

  it.each([
    ['VM', [1, 0, 0, 0, null]],
    ['AlignMask', [0, 1, 0, 0, null]],
    ['minPhys', [0, 0, 0x110, 0, null]],
    ['maxPhys', [0, 0, 0, 0x1000, null]],
    ['PhysAddrPtr', [0, 0, 0, 0, new Uint32Array(1)]],
  ] as const)('%s ≠ 0 fails with 0/0', (_name, args) => {
    const kernel = createKernel(presets.testMin);
    const dev = kernel.device('PAGESWAP');
    kernel.systemControl('Sys_Critical_Init');
    const [vm, alignMask, minPhys, maxPhys, ptr] = args;
    expect(
      dev._PageAllocate(4, PG_SYS, vm, alignMask, minPhys, maxPhys, ptr, PageMapFreePhysReg),
    ).toEqual({ eax: 0, edx: 0 });
  });

  it('PageMapFreePhysReg with any other flag fails with 0/0', () => {
    const kernel = createKernel(presets.testMin);
    const dev = kernel.device('PAGESWAP');
    kernel.systemControl('Sys_Critical_Init');
    expect(
      dev._PageAllocate(4, PG_SYS, 0, 0, 0, 0, null, PageMapFreePhysReg | PageZeroInit),
    ).toEqual({ eax: 0, edx: 0 });
  });

  it('is allowed in every init phase and refused before and after initialization', () => {
    const kernel = createKernel(presets.testMin);
    const dev = kernel.device('PAGESWAP');
    const make = (): number =>
      dev._PageAllocate(2, PG_SYS, 0, 0, 0, 0, null, PageMapFreePhysReg).eax;
    expect(make()).toBe(0);
    for (const phase of ['Sys_Critical_Init', 'Device_Init', 'Init_Complete'] as const) {
      kernel.systemControl(phase);
      expect(make()).not.toBe(0);
    }
    kernel.systemControl('Sys_VM_Init');
    expect(make()).toBe(0);
    expect(dev.lastError?.service).toBe('_PageAllocate');
  });

  it('a region can never be freed or reallocated, and stays usable', () => {
    const { kernel, dev, region } = ready();
    expect(dev._PageFree(region * 4096, 0)).toBe(0);
    expect(dev._PageReAllocate(region * 4096, 4, 0)).toEqual({ eax: 0, edx: 0 });
    expect(dev._MapFreePhysReg(region, 2, 0)).not.toBe(0);
    expect(presence(dev, region, 3)).toEqual([true, true, false]);
    expect(kernel.check()).toEqual([]);
  });
});

describe('_MapFreePhysReg', () => {
  it('maps pages from the free list: nonzero, pages present, free count falls by nPages', () => {
    const { kernel, dev, region } = ready();
    const before = freePages(dev);
    expect(dev._MapFreePhysReg(region + 1, 3, 0)).not.toBe(0);
    expect(presence(dev, region, 5)).toEqual([false, true, true, true, false]);
    expect(freePages(dev)).toBe(before - 3);
    kernel.writeLinear(null, (region + 1) * 4096, Uint8Array.of(7, 8, 9));
    expect([...kernel.readLinear(null, (region + 1) * 4096, 3)]).toEqual([7, 8, 9]);
    expect(kernel.check({ final: true })).toEqual([]);
  });

  it('an invalid linear page number (outside every region) returns 0', () => {
    const { dev, region } = ready();
    const block = dev._PageAllocate(2, PG_SYS, 0, 0, 0, 0, null, 0);
    const before = freePages(dev);
    for (const page of [block.edx >>> 12, region + REGION_PAGES, 0x100000, -1, 0x12345]) {
      expect(dev._MapFreePhysReg(page, 1, 0)).toBe(0);
    }
    expect(dev.lastError?.reason).toMatch(/invalid linear page number/);
    expect(freePages(dev)).toBe(before);
  });

  it('an invalid range of pages (past the region end, or nPages 0) returns 0', () => {
    const { dev, region } = ready();
    const before = freePages(dev);
    expect(dev._MapFreePhysReg(region + REGION_PAGES - 2, 3, 0)).toBe(0);
    expect(dev.lastError?.reason).toMatch(/invalid range/);
    expect(dev._MapFreePhysReg(region, 0, 0)).toBe(0);
    expect(presence(dev, region, REGION_PAGES)).toEqual(new Array(REGION_PAGES).fill(false));
    expect(freePages(dev)).toBe(before);
  });

  it('part of the page range already present returns 0', () => {
    const { dev, region } = ready();
    expect(dev._MapFreePhysReg(region + 2, 1, 0)).not.toBe(0);
    const before = freePages(dev);
    expect(dev._MapFreePhysReg(region, 4, 0)).toBe(0);
    expect(dev.lastError?.reason).toMatch(/already present/);
    expect(freePages(dev)).toBe(before);
  });

  it('insufficient pages on the free list returns 0', () => {
    const kernel = createKernel(presets.testMin);
    const dev = kernel.device('PAGESWAP');
    kernel.systemControl('Sys_Critical_Init');
    const pages = freePages(dev) + 16;
    const made = dev._PageAllocate(pages, PG_SYS, 0, 0, 0, 0, null, PageMapFreePhysReg);
    expect(made.eax).not.toBe(0);
    finishInit(kernel);
    const before = freePages(dev);
    expect(dev._MapFreePhysReg(made.edx >>> 12, before + 1, 0)).toBe(0);
    expect(dev.lastError?.reason).toMatch(/insufficient/);
    expect(freePages(dev)).toBe(before);
    expect(presence(dev, made.edx >>> 12, 4)).toEqual([false, false, false, false]);
  });

  it("PageFixed from a device other than the region's creator is an invalid use of PageFixed [I]", () => {
    const { kernel, dev, other, region } = ready();
    expect(other._MapFreePhysReg(region, 1, PageFixed)).toBe(0);
    expect(other.lastError?.reason).toMatch(/PageFixed/);
    expect(presence(dev, region, 1)).toEqual([false]);
    expect(other._MapFreePhysReg(region, 1, 0)).not.toBe(0);
    expect(dev._MapFreePhysReg(region + 1, 1, PageFixed)).not.toBe(0);
    expect(kernel.check()).toEqual([]);
  });

  it.each([
    ['PageZeroInit', PageZeroInit],
    ['PageLocked', PageLocked],
    ['PageMapFreePhysReg', PageMapFreePhysReg],
    ['bit 31', 0x80000000],
  ])('reserved flag bits (%s) return 0', (_name, flags) => {
    const { dev, region } = ready();
    const before = freePages(dev);
    expect(dev._MapFreePhysReg(region, 1, flags)).toBe(0);
    expect(presence(dev, region, 1)).toEqual([false]);
    expect(freePages(dev)).toBe(before);
  });

  it('a device that has not yet received Init_Complete is refused', () => {
    const m = bootWithRegion();
    m.kernel.systemControl('Device_Init');
    expect(m.dev._MapFreePhysReg(m.region, 1, 0)).toBe(0);
    expect(m.dev.lastError?.reason).toMatch(/Init_Complete/);
    // During the Init_Complete broadcast: PAGESWAP (lower init order) has it, OTHER not yet.
    const seen: number[] = [];
    const kernel = createKernel(presets.testMin);
    const first = kernel.device('FIRST', {
      initOrder: 1,
      onControl: (message, self) => {
        if (message !== 'Init_Complete') return;
        seen.push(self._MapFreePhysReg(region, 1, 0), later._MapFreePhysReg(region + 1, 1, 0));
      },
    });
    const later = kernel.device('LATER', { initOrder: 2 });
    kernel.systemControl('Sys_Critical_Init');
    const region = first._PageAllocate(4, PG_SYS, 0, 0, 0, 0, null, PageMapFreePhysReg).edx >>> 12;
    finishInit(kernel);
    expect(seen[0]).not.toBe(0);
    expect(seen[1]).toBe(0);
    expect(later._MapFreePhysReg(region + 1, 1, 0)).not.toBe(0);
  });

  it('is all or nothing: a failing range maps no page and takes no frame [I]', () => {
    const { kernel, dev, region } = ready();
    expect(dev._MapFreePhysReg(region + 5, 1, 0)).not.toBe(0);
    const before = freePages(dev);
    expect(dev._MapFreePhysReg(region + 2, 4, 0)).toBe(0);
    expect(presence(dev, region, REGION_PAGES)).toEqual([
      false,
      false,
      false,
      false,
      false,
      true,
      false,
      false,
    ]);
    expect(freePages(dev)).toBe(before);
    expect(kernel.check()).toEqual([]);
  });
});

describe('_UnmapFreePhysReg', () => {
  it('unmaps the pages and returns their frames to the free list', () => {
    const { kernel, dev, region } = ready();
    const before = freePages(dev);
    expect(dev._MapFreePhysReg(region, 4, 0)).not.toBe(0);
    expect(dev._UnmapFreePhysReg(region + 1, 2, 0)).not.toBe(0);
    expect(presence(dev, region, 4)).toEqual([true, false, false, true]);
    expect(freePages(dev)).toBe(before - 2);
    expect(() => kernel.readLinear(null, (region + 1) * 4096, 1)).toThrow(PageFaultError);
    expect(dev._UnmapFreePhysReg(region, 1, 0)).not.toBe(0);
    expect(dev._UnmapFreePhysReg(region + 3, 1, 0)).not.toBe(0);
    expect(freePages(dev)).toBe(before);
    expect(kernel.check({ final: true })).toEqual([]);
  });

  it('flags ≠ 0 returns 0', () => {
    const { dev, region } = ready();
    expect(dev._MapFreePhysReg(region, 1, 0)).not.toBe(0);
    expect(dev._UnmapFreePhysReg(region, 1, PageFixed)).toBe(0);
    expect(presence(dev, region, 1)).toEqual([true]);
  });

  it('an invalid linear page number returns 0', () => {
    const { dev, region } = ready();
    const block = dev._PageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0);
    expect(dev._UnmapFreePhysReg(block.edx >>> 12, 1, 0)).toBe(0);
    expect(dev._UnmapFreePhysReg(region - 1, 1, 0)).toBe(0);
    expect(dev.lastError?.reason).toMatch(/invalid linear page number/);
    expect(presence(dev, block.edx >>> 12, 1)).toEqual([true]);
  });

  it('an invalid range of pages returns 0', () => {
    const { dev, region } = ready();
    expect(dev._MapFreePhysReg(region + REGION_PAGES - 1, 1, 0)).not.toBe(0);
    expect(dev._UnmapFreePhysReg(region + REGION_PAGES - 1, 2, 0)).toBe(0);
    expect(dev._UnmapFreePhysReg(region + REGION_PAGES - 1, 0, 0)).toBe(0);
    expect(presence(dev, region + REGION_PAGES - 1, 1)).toEqual([true]);
  });

  it('part of the range already not present returns 0 and unmaps nothing', () => {
    const { kernel, dev, region } = ready();
    expect(dev._MapFreePhysReg(region, 2, 0)).not.toBe(0);
    const before = freePages(dev);
    expect(dev._UnmapFreePhysReg(region, 3, 0)).toBe(0);
    expect(dev.lastError?.reason).toMatch(/not present/);
    expect(presence(dev, region, 3)).toEqual([true, true, false]);
    expect(freePages(dev)).toBe(before);
    expect(kernel.check()).toEqual([]);
  });

  it('pages mapped with PageFixed cannot be unmapped', () => {
    const { kernel, dev, region } = ready();
    expect(dev._MapFreePhysReg(region, 2, PageFixed)).not.toBe(0);
    const before = freePages(dev);
    expect(dev._UnmapFreePhysReg(region, 1, 0)).toBe(0);
    expect(dev._UnmapFreePhysReg(region + 1, 1, 0)).toBe(0);
    expect(presence(dev, region, 2)).toEqual([true, true]);
    expect(freePages(dev)).toBe(before);
    expect(kernel.check({ final: true })).toEqual([]);
  });

  it('a device that has not yet received Init_Complete is refused', () => {
    const seen: number[] = [];
    const kernel = createKernel(presets.testMin);
    const first = kernel.device('FIRST', {
      initOrder: 1,
      onControl: (message, self) => {
        if (message !== 'Init_Complete') return;
        seen.push(self._MapFreePhysReg(region, 2, 0), later._UnmapFreePhysReg(region, 1, 0));
      },
    });
    const later = kernel.device('LATER', { initOrder: 2 });
    kernel.systemControl('Sys_Critical_Init');
    const region = first._PageAllocate(4, PG_SYS, 0, 0, 0, 0, null, PageMapFreePhysReg).edx >>> 12;
    finishInit(kernel);
    expect(seen[0]).not.toBe(0);
    expect(seen[1]).toBe(0);
    expect(presence(first, region, 2)).toEqual([true, true]);
    expect(later._UnmapFreePhysReg(region, 1, 0)).not.toBe(0);
  });
});
