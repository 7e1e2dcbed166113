/**
 * Conformance: _XchgFreePhysReg, seed 001 to the letter (reference §2.18): the previous
 * physical address, 0 for a page that was not present, 0FFFFFFFFh on error; PhysAddr 0 makes
 * the page not present; the compaction chain of the seed's Comments; PageFixed pages; an
 * asynchronous service. Frame accounting follows the module's [I] rules.
 */
import { describe, expect, it } from 'vitest';
import {
  createKernel,
  presets,
  type DeviceContext,
  type Kernel,
  PageFaultError,
  ERROR_DWORD,
  PG_SYS,
  PG_TYPE,
  P_PRES,
  P_USER,
  P_WRITE,
  PageFixed,
  PageMapFreePhysReg,
} from '../../src/index.js';

interface Machine {
  kernel: Kernel;
  dev: DeviceContext;
  region: number;
}

const REGION_PAGES = 8;

/** Boots past Init_Complete with an 8-page region; `mapped` pages of it are mapped. */
function ready(mapped: number[] = [], fixed: number[] = []): Machine {
  const kernel = createKernel(presets.testMin);
  const dev = kernel.device('PAGESWAP', { initOrder: 0x1c000000 });
  kernel.systemControl('Sys_Critical_Init');
  const region =
    dev._PageAllocate(REGION_PAGES, PG_SYS, 0, 0, 0, 0, null, PageMapFreePhysReg).edx >>> 12;
  expect(region).not.toBe(0);
  kernel.systemControl('Device_Init');
  kernel.systemControl('Init_Complete');
  for (const i of mapped) expect(dev._MapFreePhysReg(region + i, 1, 0)).not.toBe(0);
  for (const i of fixed) expect(dev._MapFreePhysReg(region + i, 1, PageFixed)).not.toBe(0);
  return { kernel, dev, region };
}

function pte(dev: DeviceContext, page: number): number {
  const buffer = new Uint32Array(1);
  expect(dev._CopyPageTable(page, 1, buffer, 0)).not.toBe(0);
  return buffer[0]!;
}

const physOf = (dev: DeviceContext, page: number): number => (pte(dev, page) & ~0xfff) >>> 0;
const isPresent = (dev: DeviceContext, page: number): boolean => (pte(dev, page) & P_PRES) !== 0;
const freePages = (dev: DeviceContext): number => dev._GetFreePageCount(0).eax;

describe('_XchgFreePhysReg', () => {
  it('returns the previous physical address of a present page', () => {
    const { kernel, dev, region } = ready([0]);
    const address = physOf(dev, region);
    expect(address).not.toBe(0);
    expect(dev._XchgFreePhysReg(region, 0, 0)).toBe(address);
    expect(dev._XchgFreePhysReg(region, address, 0)).toBe(0);
    expect(physOf(dev, region)).toBe(address);
    expect(kernel.check({ final: true })).toEqual([]);
  });

  it('returns 0 if the page was not present, and maps PhysAddr there', () => {
    const { kernel, dev, region } = ready([0]);
    const address = dev._XchgFreePhysReg(region, 0, 0);
    expect(dev._XchgFreePhysReg(region + 3, address, 0)).toBe(0);
    expect(isPresent(dev, region + 3)).toBe(true);
    expect(physOf(dev, region + 3)).toBe(address);
    expect(kernel.check({ final: true })).toEqual([]);
  });

  it('PhysAddr 0 makes the page not present', () => {
    const { kernel, dev, region } = ready([1]);
    kernel.writeLinear(null, (region + 1) * 4096, Uint8Array.of(1));
    const address = dev._XchgFreePhysReg(region + 1, 0, 0);
    expect(address).not.toBe(0);
    expect(address).not.toBe(ERROR_DWORD);
    expect(isPresent(dev, region + 1)).toBe(false);
    expect(() => kernel.readLinear(null, (region + 1) * 4096, 1)).toThrow(PageFaultError);
    expect(dev._XchgFreePhysReg(region + 1, 0, 0)).toBe(0);
  });

  it.each([1, PageFixed, 0x80000000])(
    'flags ≠ 0 (%i) returns 0FFFFFFFFh and changes nothing',
    (flags) => {
      const { dev, region } = ready([0]);
      const address = physOf(dev, region);
      const result = dev._XchgFreePhysReg(region, 0, flags);
      expect(result).toBe(0xffffffff);
      expect(result).toBe(4294967295);
      expect(result).not.toBe(-1);
      expect(physOf(dev, region)).toBe(address);
      expect(isPresent(dev, region)).toBe(true);
    },
  );

  it('an invalid linear page number returns 0FFFFFFFFh', () => {
    const { dev, region } = ready([0]);
    const block = dev._PageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0);
    const blockPhys = physOf(dev, block.edx >>> 12);
    for (const page of [block.edx >>> 12, region + REGION_PAGES, region - 1, 0x100000, -1]) {
      expect(dev._XchgFreePhysReg(page, 0, 0)).toBe(0xffffffff);
    }
    expect(physOf(dev, block.edx >>> 12)).toBe(blockPhys);
  });

  it('a PhysAddr that is not page-aligned returns 0FFFFFFFFh [I]', () => {
    const { dev, region } = ready([0]);
    const address = physOf(dev, region);
    expect(dev._XchgFreePhysReg(region + 1, address + 0x10, 0)).toBe(0xffffffff);
    expect(isPresent(dev, region + 1)).toBe(false);
  });

  it('a PhysAddr of a free-list frame or of no RAM returns 0FFFFFFFFh [I]', () => {
    const { kernel, dev, region } = ready();
    const block = dev._PageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0);
    const freed = physOf(dev, block.edx >>> 12);
    expect(dev._PageFree(block.eax, 0)).not.toBe(0);
    const before = freePages(dev);
    expect(dev._XchgFreePhysReg(region, freed, 0)).toBe(0xffffffff);
    expect(dev._XchgFreePhysReg(region, 0xa0000, 0)).toBe(0xffffffff);
    expect(isPresent(dev, region)).toBe(false);
    expect(freePages(dev)).toBe(before);
    expect(kernel.check({ final: true })).toEqual([]);
  });

  it('cannot change the number of pages mapped with PageFixed', () => {
    const { kernel, dev, region } = ready([1], [0]);
    const fixedPhys = physOf(dev, region);
    expect(dev._XchgFreePhysReg(region, 0, 0)).toBe(0xffffffff);
    const held = dev._XchgFreePhysReg(region + 1, 0, 0);
    expect(dev._XchgFreePhysReg(region, held, 0)).toBe(0xffffffff);
    expect(physOf(dev, region)).toBe(fixedPhys);
    expect(isPresent(dev, region)).toBe(true);
    expect(dev._XchgFreePhysReg(region + 1, held, 0)).toBe(0);
    expect(kernel.check({ final: true })).toEqual([]);
  });

  it('leaves the free-list count unchanged', () => {
    const { dev, region } = ready([0, 1, 2]);
    const before = dev._GetFreePageCount(0);
    const a = dev._XchgFreePhysReg(region, 0, 0);
    expect(dev._GetFreePageCount(0)).toEqual(before);
    const b = dev._XchgFreePhysReg(region + 1, a, 0);
    expect(dev._XchgFreePhysReg(region + 5, b, 0)).toBe(0);
    expect(dev._GetFreePageCount(0)).toEqual(before);
  });

  it("keeps the region's permission and type bits, changing only the frame and P [I]", () => {
    const { dev, region } = ready([0]);
    const bits = (value: number): number => value & (P_WRITE | P_USER | PG_TYPE);
    const original = bits(pte(dev, region));
    const address = dev._XchgFreePhysReg(region, 0, 0);
    expect(bits(pte(dev, region))).toBe(original);
    expect(dev._XchgFreePhysReg(region + 4, address, 0)).toBe(0);
    expect(bits(pte(dev, region + 4))).toBe(original);
    expect(pte(dev, region + 4) & P_PRES).toBe(P_PRES);
  });

  it("compacts a region by the seed's chain: PhysAddr 0 on a present page, each result into the next call, until 0", () => {
    // Pages 0, 2, 3 present and 1 not: after the chain 0, 1, 2 are present in the same order.
    const { kernel, dev, region } = ready([0, 1, 2, 3]);
    expect(dev._UnmapFreePhysReg(region + 1, 1, 0)).not.toBe(0);
    const contents = [0, 2, 3].map((i) => {
      const bytes = Uint8Array.of(0xa0 + i, i, 0x5a);
      kernel.writeLinear(null, (region + i) * 4096, bytes);
      return [...bytes];
    });
    const free = freePages(dev);
    const calls: Array<[number, number]> = [];
    let physAddr = 0;
    for (const page of [region + 3, region + 2, region + 1]) {
      const result = dev._XchgFreePhysReg(page, physAddr, 0);
      calls.push([page - region, result]);
      expect(result).not.toBe(0xffffffff);
      if (result === 0) break;
      physAddr = result;
    }
    expect(calls.map(([page]) => page)).toEqual([3, 2, 1]);
    expect(calls[2]![1]).toBe(0);
    expect([0, 1, 2, 3].map((i) => isPresent(dev, region + i))).toEqual([true, true, true, false]);
    expect([0, 1, 2].map((i) => [...kernel.readLinear(null, (region + i) * 4096, 3)])).toEqual(
      contents,
    );
    expect(freePages(dev)).toBe(free);
    expect(kernel.check({ final: true })).toEqual([]);
  });

  it('is asynchronous: it works at interrupt time, where _MapFreePhysReg is refused', () => {
    const { kernel, dev, region } = ready([0]);
    const address = physOf(dev, region);
    const [out, back, mapped] = dev.atInterrupt(() => [
      dev._XchgFreePhysReg(region, 0, 0),
      dev._XchgFreePhysReg(region + 2, address, 0),
      dev._MapFreePhysReg(region + 4, 1, 0),
    ]);
    expect(out).toBe(address);
    expect(back).toBe(0);
    expect(mapped).toBe(0);
    expect(dev.lastError?.service).toBe('_MapFreePhysReg');
    expect(physOf(dev, region + 2)).toBe(address);
    expect(isPresent(dev, region + 4)).toBe(false);
    const kinds = kernel.check({ final: true }).map((v) => v.kind);
    expect(kinds).toEqual(['interrupt-time']);
  });

  it('a frame taken out and never put back is reported by check({final:true}), naming the frame', () => {
    const { kernel, dev, region } = ready([2]);
    const address = dev._XchgFreePhysReg(region + 2, 0, 0);
    const frame = address / 4096;
    expect(kernel.check()).toEqual([]);
    const found = kernel.check({ final: true });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ kind: 'lost-frame', frame });
    expect(found[0]!.message).toContain(`${frame.toString(16).toUpperCase()}h`);
  });

  it('bytes written to a held frame follow it into the page it is put in', () => {
    const { kernel, dev, region } = ready([0]);
    kernel.writeLinear(null, region * 4096 + 100, Uint8Array.of(1, 2, 3));
    const address = dev._XchgFreePhysReg(region, 0, 0);
    expect([...kernel.readPhysical(address + 100, 3)]).toEqual([1, 2, 3]);
    kernel.writePhysical(address + 200, Uint8Array.of(9, 8, 7, 6));
    expect(dev._XchgFreePhysReg(region + 6, address, 0)).toBe(0);
    expect([...kernel.readLinear(null, (region + 6) * 4096 + 100, 3)]).toEqual([1, 2, 3]);
    expect([...kernel.readLinear(null, (region + 6) * 4096 + 200, 4)]).toEqual([9, 8, 7, 6]);
    expect(kernel.check({ final: true })).toEqual([]);
  });
});
