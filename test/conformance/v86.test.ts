/**
 * Conformance: V86 memory — seed 003 _Allocate_Global_V86_Data_Area (every flag), the
 * temporary data area, _AddInstanceItem, _PhysIntoV86/_MapIntoV86/_LinMapIntoV86,
 * _GetNulPageHandle and _MapPhysToLinear (reference §1.4, §1.10, §2.9–§2.12, §2.15–§2.17).
 * The first V86 page is observed the way a VM sees it: the first V86 page whose frame is the
 * VM's own rather than the system VM's.
 */
import { describe, expect, it } from 'vitest';
import {
  createKernel,
  presets,
  type DeviceContext,
  type Kernel,
  type VmContext,
  type DeviceInVm,
  ERROR_DWORD,
  ALWAYS_FIELD,
  GVDADWordAlign,
  GVDAHighSysCritOK,
  GVDAInquire,
  GVDAInstance,
  GVDAPageAlign,
  GVDAParaAlign,
  GVDAReclaim,
  GVDAWordAlign,
  GVDAZeroInit,
  TVDANeedTilInitComplete,
  PG_HOOKED,
  PG_SYS,
  PG_TYPE_SHIFT,
  PG_VM,
  P_ACC,
  P_DIRTY,
  P_PCD,
  P_PRES,
  P_USER,
  P_WRITE,
} from '../../src/index.js';

const INIT = ['Sys_Critical_Init', 'Device_Init', 'Init_Complete', 'Sys_VM_Init'] as const;
const ALIGNS = [GVDAWordAlign, GVDADWordAlign, GVDAParaAlign, GVDAPageAlign];
const V86_BITS = P_PRES | P_WRITE | P_USER;

function start(): { kernel: Kernel; dev: DeviceContext } {
  const kernel = createKernel(presets.testMin);
  const dev = kernel.device('V86DEV');
  kernel.systemControl('Sys_Critical_Init');
  return { kernel, dev };
}

/** Sends the init messages after the current phase, up to and including `to`. */
function advance(kernel: Kernel, to: (typeof INIT)[number] = 'Sys_VM_Init'): void {
  for (let i = kernel.phase + 1; i <= INIT.indexOf(to); i++) kernel.systemControl(INIT[i]!);
}

function ptes(ctx: DeviceContext | DeviceInVm, page: number, count: number): number[] {
  const buffer = new Uint32Array(count);
  expect(ctx._CopyPageTable(page, count, buffer, 0)).not.toBe(0);
  return [...buffer];
}

/** The first V86 page as a new VM sees it: the first page below A0h that is its own. */
function firstV86PageOf(kernel: Kernel, dev: DeviceContext): number {
  const mine = ptes(dev.inVM(kernel.createVM().handle), 0, 0xa0);
  const system = ptes(dev, 0, 0xa0);
  return mine.findIndex((entry, page) => page >= 0x10 && entry >>> 12 !== system[page]! >>> 12);
}

const nulFrame = (dev: DeviceContext): number =>
  ptes(dev, dev._GetNulPageHandle() >>> 12, 1)[0]! >>> 12;
const freePages = (dev: DeviceContext): number => dev._GetFreePageCount(0).eax;
const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

describe('_Allocate_Global_V86_Data_Area', () => {
  it('returns a ring-0 address below 1 MB, global in every VM, below the moved first V86 page', () => {
    const { kernel, dev } = start();
    const address = dev._Allocate_Global_V86_Data_Area(0x1800, 0);
    expect(address).not.toBe(0);
    expect(address + 0x1800).toBeLessThanOrEqual(0x100000);
    kernel.writeLinear(null, address + 0x17fc, bytes(1, 2, 3, 4));
    advance(kernel);
    expect(firstV86PageOf(kernel, dev) * 4096).toBeGreaterThanOrEqual(address + 0x1800);
    expect(kernel.readLinear(kernel.createVM(), address + 0x17fc, 4)).toEqual(bytes(1, 2, 3, 4));
  });

  it('aligns on a byte, word, doubleword, paragraph or page boundary', () => {
    const { dev } = start();
    const first = dev._Allocate_Global_V86_Data_Area(1, 0);
    expect(dev._Allocate_Global_V86_Data_Area(1, 0)).toBe(first + 1); // byte-aligned: packed
    let last = first + 1;
    const boundaries = [
      [GVDAWordAlign, 2],
      [GVDADWordAlign, 4],
      [GVDAParaAlign, 16],
      [GVDAPageAlign, 4096],
    ] as const;
    for (const [flag, boundary] of boundaries) {
      const address = dev._Allocate_Global_V86_Data_Area(1, flag);
      expect(address % boundary).toBe(0);
      expect(address).toBeGreaterThan(last);
      last = address;
    }
  });

  const pairs = ALIGNS.flatMap((a, i) => ALIGNS.slice(i + 1).map((b) => [a, b] as const));
  it.each(pairs)('alignment flags %i and %i together are refused', (a, b) => {
    const { dev } = start();
    const room = dev._Allocate_Global_V86_Data_Area(0, GVDAInquire);
    expect(dev._Allocate_Global_V86_Data_Area(16, a | b)).toBe(0);
    expect(dev._Allocate_Global_V86_Data_Area(0, GVDAInquire)).toBe(room);
  });

  it('GVDAReclaim with GVDAInstance is refused', () => {
    const { dev } = start();
    expect(
      dev._Allocate_Global_V86_Data_Area(4096, GVDAPageAlign | GVDAReclaim | GVDAInstance),
    ).toBe(0);
  });

  it.each([0x10, 0x80, 0x8000, 0x80000000])('reserved flag %i is refused', (flag) => {
    const { dev } = start();
    expect(dev._Allocate_Global_V86_Data_Area(16, flag)).toBe(0);
  });

  it('GVDAHighSysCritOK is accepted only while processing Sys_Critical_Init', () => {
    const { kernel, dev } = start();
    expect(dev._Allocate_Global_V86_Data_Area(16, GVDAHighSysCritOK)).not.toBe(0);
    advance(kernel, 'Device_Init');
    expect(dev._Allocate_Global_V86_Data_Area(16, GVDAHighSysCritOK)).toBe(0);
    expect(dev._Allocate_Global_V86_Data_Area(16, 0)).not.toBe(0);
  });

  it('GVDAInquire returns the room left before the first V86 page, ignores nBytes and moves nothing', () => {
    const { kernel, dev } = start();
    const address = dev._Allocate_Global_V86_Data_Area(0x1800, 0);
    const end = address + 0x1800;
    const firstPage = Math.ceil(end / 4096);
    advance(kernel, 'Init_Complete');
    const room = dev._Allocate_Global_V86_Data_Area(0, GVDAInquire);
    expect(room).toBe(firstPage * 4096 - end);
    expect(dev._Allocate_Global_V86_Data_Area(0x9000, GVDAInquire)).toBe(room);
    const paraRoom = firstPage * 4096 - Math.ceil(end / 16) * 16;
    expect(dev._Allocate_Global_V86_Data_Area(0, GVDAInquire | GVDAParaAlign)).toBe(paraRoom);
    expect(dev._Allocate_Global_V86_Data_Area(0, GVDAInquire | GVDAPageAlign)).toBe(0); // less than 4096
    expect(dev._Allocate_Global_V86_Data_Area(room, 0)).toBe(end); // the room, used up
    expect(dev._Allocate_Global_V86_Data_Area(0, GVDAInquire)).toBe(0);
    advance(kernel);
    expect(firstV86PageOf(kernel, dev)).toBe(firstPage);
  });

  it('GVDAZeroInit fills the block with zeros', () => {
    const { kernel, dev } = start();
    const before = dev._Allocate_Global_V86_Data_Area(16, 0);
    kernel.writeLinear(null, before + 16, new Uint8Array(64).fill(0x5a)); // where the next block goes
    const address = dev._Allocate_Global_V86_Data_Area(64, GVDAZeroInit);
    expect(address).toBe(before + 16); // byte-aligned blocks are packed
    expect(kernel.readLinear(null, address, 64)).toEqual(new Uint8Array(64));
  });

  it('GVDAReclaim (with GVDAPageAlign) maps the nul page and puts the frames on the free list', () => {
    const { kernel, dev } = start();
    const free = freePages(dev);
    const address = dev._Allocate_Global_V86_Data_Area(0x2000, GVDAPageAlign | GVDAReclaim);
    expect(address % 4096).toBe(0);
    expect(freePages(dev)).toBe(free + 2);
    expect(ptes(dev, address >>> 12, 2).map((e) => e >>> 12)).toEqual([
      nulFrame(dev),
      nulFrame(dev),
    ]);
    expect(kernel.check()).toEqual([]);
  });

  it('GVDAReclaim without GVDAPageAlign does not apply; the pages stay mapped', () => {
    const { dev } = start();
    const free = freePages(dev);
    const address = dev._Allocate_Global_V86_Data_Area(0x2000, GVDAReclaim);
    expect(address).not.toBe(0);
    expect(freePages(dev)).toBe(free);
    expect(ptes(dev, address >>> 12, 2).map((e) => e >>> 12)).not.toContain(nulFrame(dev));
  });

  it('GVDAInstance: after Init_Complete each VM has its own copy; a global block is shared', () => {
    const { kernel, dev } = start();
    const instance = dev._Allocate_Global_V86_Data_Area(4096, GVDAPageAlign | GVDAInstance);
    const global = dev._Allocate_Global_V86_Data_Area(4096, GVDAPageAlign);
    kernel.writeLinear(null, instance, bytes(7, 7));
    advance(kernel);
    const [one, two] = [kernel.createVM(), kernel.createVM()];
    expect(kernel.readLinear(one, instance, 2)).toEqual(bytes(7, 7)); // the instance snapshot
    kernel.writeLinear(one, instance, bytes(1, 1));
    kernel.writeLinear(two, instance, bytes(2, 2));
    expect(kernel.readLinear(one, instance, 2)).toEqual(bytes(1, 1));
    expect(kernel.readLinear(two, instance, 2)).toEqual(bytes(2, 2));
    expect(kernel.readLinear(null, instance, 2)).toEqual(bytes(7, 7));
    kernel.writeLinear(one, global, bytes(9, 9));
    expect(kernel.readLinear(two, global, 2)).toEqual(bytes(9, 9));
    expect(kernel.readLinear(null, global, 2)).toEqual(bytes(9, 9));
  });

  it('GVDAInstance is instance data for its own bytes: global blocks beside it stay one block for all VMs (seed 003)', () => {
    const { kernel, dev } = start();
    const before = dev._Allocate_Global_V86_Data_Area(64, 0); // byte-aligned, global
    const instance = dev._Allocate_Global_V86_Data_Area(64, GVDAInstance);
    const after = dev._Allocate_Global_V86_Data_Area(64, 0);
    expect([before, instance, after].every((a) => a !== 0)).toBe(true);
    kernel.writeLinear(null, instance, bytes(7, 7));
    advance(kernel);
    const [one, two] = [kernel.createVM(), kernel.createVM()];
    for (const global of [before, after]) {
      one.writeLinear(global, bytes(3, 4));
      expect(two.readLinear(global, 2)).toEqual(bytes(3, 4)); // "the same data" in every VM
      expect(kernel.readLinear(null, global, 2)).toEqual(bytes(3, 4));
      two.writeLinear(global + 2, bytes(5, 6));
      expect(one.readLinear(global + 2, 2)).toEqual(bytes(5, 6));
    }
    expect(two.readLinear(instance, 2)).toEqual(bytes(7, 7)); // the snapshot
    one.writeLinear(instance, bytes(1, 1));
    expect(two.readLinear(instance, 2)).toEqual(bytes(7, 7)); // different values per VM
    expect(kernel.check()).toEqual([]);
  });

  it('is refused while a temporary block exists', () => {
    const { dev } = start();
    expect(dev._Allocate_Temp_V86_Data_Area(64, 0)).not.toBe(0);
    expect(dev._Allocate_Global_V86_Data_Area(16, 0)).toBe(0);
    expect(dev._Free_Temp_V86_Data_Area()).not.toBe(0);
    expect(dev._Allocate_Global_V86_Data_Area(16, 0)).not.toBe(0);
  });

  it('is available only during initialization', () => {
    const { kernel, dev } = start();
    advance(kernel);
    expect(dev._Allocate_Global_V86_Data_Area(16, 0)).toBe(0);
    expect(dev._Allocate_Global_V86_Data_Area(0, GVDAInquire)).toBe(0);
  });
});

describe('_Allocate_Temp_V86_Data_Area / _Free_Temp_V86_Data_Area', () => {
  it('one paragraph-aligned, zero-filled block at a time', () => {
    const { kernel, dev } = start();
    const address = dev._Allocate_Temp_V86_Data_Area(100, 0);
    expect(address).not.toBe(0);
    expect(address % 16).toBe(0);
    kernel.writeLinear(null, address, new Uint8Array(100).fill(0xee));
    expect(dev._Allocate_Temp_V86_Data_Area(100, 0)).toBe(0); // only one
    expect(dev._Free_Temp_V86_Data_Area()).not.toBe(0);
    const again = dev._Allocate_Temp_V86_Data_Area(100, TVDANeedTilInitComplete);
    expect(again).not.toBe(0);
    expect(kernel.readLinear(null, again, 100)).toEqual(new Uint8Array(100));
  });

  it('_Free_Temp_V86_Data_Area without a block returns 0; reserved flags are refused', () => {
    const { dev } = start();
    expect(dev._Free_Temp_V86_Data_Area()).toBe(0);
    expect(dev._Allocate_Temp_V86_Data_Area(16, 2)).toBe(0);
  });

  it('both are available only during initialization', () => {
    const { kernel, dev } = start();
    expect(dev._Allocate_Temp_V86_Data_Area(16, 0)).not.toBe(0);
    advance(kernel);
    expect(dev._Free_Temp_V86_Data_Area()).toBe(0);
    expect(dev._Allocate_Temp_V86_Data_Area(16, 0)).toBe(0);
  });
});

describe('_AddInstanceItem', () => {
  it('an InstDataStruc makes its bytes per-VM after Init_Complete; other pages stay global', () => {
    const { kernel, dev } = start();
    expect(dev._AddInstanceItem(Uint32Array.of(0, 0, 0x42f, 1, ALWAYS_FIELD), 0)).not.toBe(0);
    advance(kernel);
    const [one, two] = [kernel.createVM(), kernel.createVM()];
    kernel.writeLinear(one, 0x42f, bytes(0x11));
    kernel.writeLinear(two, 0x42f, bytes(0x22));
    expect(kernel.readLinear(one, 0x42f, 1)).toEqual(bytes(0x11));
    expect(kernel.readLinear(two, 0x42f, 1)).toEqual(bytes(0x22));
    kernel.writeLinear(one, 0x5000, bytes(0x33));
    expect(kernel.readLinear(two, 0x5000, 1)).toEqual(bytes(0x33));
  });

  it('InstLinkF and InstLinkB must be 0, flags must be 0, the structure has 5 dwords', () => {
    const { dev } = start();
    expect(dev._AddInstanceItem(Uint32Array.of(1, 0, 0x42f, 1, ALWAYS_FIELD), 0)).toBe(0);
    expect(dev._AddInstanceItem(Uint32Array.of(0, 1, 0x42f, 1, ALWAYS_FIELD), 0)).toBe(0);
    expect(dev._AddInstanceItem(Uint32Array.of(0, 0, 0x42f, 1, ALWAYS_FIELD), 1)).toBe(0);
    expect(dev._AddInstanceItem(Uint32Array.of(0, 0, 0x42f, 1), 0)).toBe(0);
  });

  it('is available only during initialization', () => {
    const { kernel, dev } = start();
    advance(kernel);
    expect(dev._AddInstanceItem(Uint32Array.of(0, 0, 0x42f, 1, ALWAYS_FIELD), 0)).toBe(0);
  });
});

/** Past init with the first V86 page moved to 12h by a global block; a VM. */
function withVm(): { kernel: Kernel; dev: DeviceContext; vm: VmContext } {
  const { kernel, dev } = start();
  expect(dev._Allocate_Global_V86_Data_Area(0x2000, GVDAPageAlign)).toBe(0x10000);
  advance(kernel);
  expect(firstV86PageOf(kernel, dev)).toBe(0x12);
  return { kernel, dev, vm: kernel.createVM() };
}

describe('_PhysIntoV86 / _MapIntoV86 / _LinMapIntoV86', () => {
  it('_PhysIntoV86: PTEs are P_PRES|P_WRITE|P_USER, A and D clear, type PG_SYS', () => {
    const { kernel, dev, vm } = withVm();
    const block = dev._PageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0).edx;
    kernel.writeLinear(null, block, bytes(4, 5, 6));
    const frame = ptes(dev, block >>> 12, 1)[0]! >>> 12;
    expect(dev._PhysIntoV86(frame, vm.handle, 0xc4, 1, 0)).not.toBe(0);
    expect(ptes(dev.inVM(vm.handle), 0xc4, 1)[0]).toBe(
      ((frame << 12) | V86_BITS | (PG_SYS << PG_TYPE_SHIFT)) >>> 0,
    );
    expect(kernel.readLinear(vm, 0xc4000, 3)).toEqual(bytes(4, 5, 6));
    expect(dev._PhysIntoV86(0xe0000, vm.handle, 0xc0, 2, 0)).not.toBe(0); // the frame buffer
    kernel.writePhysical(0xe0001010, bytes(8, 9));
    expect(kernel.readLinear(vm, 0xc1010, 2)).toEqual(bytes(8, 9));
    expect(kernel.check()).toEqual([]);
  });

  it('_PhysIntoV86: pages 10h–10Fh only, not crossing the first V86 page, a valid VM handle', () => {
    const { kernel, dev, vm } = withVm();
    expect(dev._PhysIntoV86(0xe0000, vm.handle, 0x0f, 1, 0)).toBe(0);
    expect(dev._PhysIntoV86(0xe0000, vm.handle, 0x10f, 2, 0)).toBe(0);
    expect(dev._PhysIntoV86(0xe0000, vm.handle, 0x110, 1, 0)).toBe(0);
    expect(dev._PhysIntoV86(0xe0000, vm.handle, 0x11, 2, 0)).toBe(0); // crosses page 12h
    expect(dev._PhysIntoV86(0xe0000, vm.handle, 0x10, 2, 0)).not.toBe(0);
    expect(dev._PhysIntoV86(0xe0000, vm.handle, 0x10f, 1, 0)).not.toBe(0);
    expect(dev._PhysIntoV86(0xe0000, 0x12345678, 0xc0, 1, 0)).toBe(0);
    const gone = kernel.createVM();
    kernel.destroyVM(gone);
    expect(dev._PhysIntoV86(0xe0000, gone.handle, 0xc0, 1, 0)).toBe(0);
  });

  it('_MapIntoV86: maps pages PageOff… of the block, type copied from the block, A and D clear', () => {
    const { kernel, dev, vm } = withVm();
    for (const pType of [PG_SYS, PG_VM, PG_HOOKED]) {
      const handle = dev._PageAllocate(
        3,
        pType,
        pType === PG_SYS ? 0 : vm.handle,
        0,
        0,
        0,
        null,
        0,
      ).eax;
      kernel.writeLinear(null, handle + 0x1000, bytes(pType, 0xab));
      const source = ptes(dev, handle >>> 12, 3);
      expect(source[1]! & (P_ACC | P_DIRTY)).toBe(P_ACC | P_DIRTY);
      expect(dev._MapIntoV86(handle, vm.handle, 0xc0, 2, 1, 0)).not.toBe(0);
      const mapped = ptes(dev.inVM(vm.handle), 0xc0, 2);
      expect(mapped.map((e) => e >>> 12)).toEqual([source[1]! >>> 12, source[2]! >>> 12]);
      for (const entry of mapped) expect(entry & 0xfff).toBe(V86_BITS | (pType << PG_TYPE_SHIFT));
      expect(kernel.readLinear(vm, 0xc0000, 2)).toEqual(bytes(pType, 0xab));
    }
  });

  it('_MapIntoV86: size discrepancy, a bad handle or a bad VM returns 0', () => {
    const { kernel, dev, vm } = withVm();
    const handle = dev._PageAllocate(3, PG_SYS, 0, 0, 0, 0, null, 0).eax;
    expect(dev._MapIntoV86(handle, vm.handle, 0xc0, 2, 2, 0)).toBe(0);
    expect(dev._MapIntoV86(handle, vm.handle, 0xc0, 4, 0, 0)).toBe(0);
    expect(dev._MapIntoV86(handle + 0x1000, vm.handle, 0xc0, 1, 0, 0)).toBe(0);
    expect(dev._MapIntoV86(handle, 0x12345678, 0xc0, 1, 0, 0)).toBe(0);
    expect(dev._MapIntoV86(handle, vm.handle, 0x11, 2, 0, 0)).toBe(0); // crosses page 12h
    expect(ptes(dev.inVM(vm.handle), 0xc0, 1)[0]! & P_PRES).toBe(0);
    expect(kernel.check()).toEqual([]);
  });

  it('_MapIntoV86: an address no _PageAllocate returned (0, a _MapPhysToLinear alias) is a bad handle', () => {
    const { dev, vm } = withVm();
    const alias = dev._MapPhysToLinear(0xe0000000, 4096, 0);
    expect(alias % 4096).toBe(0);
    expect(dev._MapIntoV86(0, vm.handle, 0xc0, 1, 0, 0)).toBe(0); // 0 is _PageAllocate's failure value
    expect(dev._MapIntoV86(alias, vm.handle, 0xc1, 1, 0, 0)).toBe(0);
    expect(ptes(dev.inVM(vm.handle), 0xc0, 2).map((e) => e & P_PRES)).toEqual([0, 0]);
  });

  it('_LinMapIntoV86: EDX is HLinPgNum when it is ≤ 100h (nothing mapped), else VMLinPgNum', () => {
    const { kernel, dev, vm } = withVm();
    const low = dev._LinMapIntoV86(0x50, vm.handle, 0xc0, 1, 0);
    expect(low.eax).not.toBe(0);
    expect(low.edx).toBe(0x50);
    expect(dev._LinMapIntoV86(0x100, vm.handle, 0xc0, 1, 0).edx).toBe(0x100);
    expect(ptes(dev.inVM(vm.handle), 0xc0, 1)[0]! & P_PRES).toBe(0);
    const block = dev._PageAllocate(2, PG_SYS, 0, 0, 0, 0, null, 0).edx;
    kernel.writeLinear(null, block + 0x1ffe, bytes(0xc, 0xd));
    const result = dev._LinMapIntoV86(block >>> 12, vm.handle, 0xc0, 2, 0);
    expect(result.eax).not.toBe(0);
    expect(result.edx).toBe(0xc0);
    expect(ptes(dev.inVM(vm.handle), 0xc0, 2).map((e) => e >>> 12)).toEqual(
      ptes(dev, block >>> 12, 2).map((e) => e >>> 12),
    );
    expect(kernel.readLinear(vm, 0xc1ffe, 2)).toEqual(bytes(0xc, 0xd));
    expect(dev._LinMapIntoV86(block >>> 12, 0x12345678, 0xc0, 1, 0).eax).toBe(0);
    expect(dev._LinMapIntoV86(block >>> 12, vm.handle, 0x0f, 1, 0).eax).toBe(0);
    expect(dev._LinMapIntoV86(0xf0000, vm.handle, 0xc4, 1, 0).eax).toBe(0); // not present
  });
});

describe('_GetNulPageHandle', () => {
  it('returns the same handle every time; _PageFree of it fails; _MapIntoV86 maps it anywhere', () => {
    const { kernel, dev, vm } = withVm();
    const nul = dev._GetNulPageHandle();
    expect(nul).not.toBe(0);
    expect(dev._GetNulPageHandle()).toBe(nul);
    expect(dev.inVM(vm.handle)._GetNulPageHandle()).toBe(nul);
    expect(dev._PageFree(nul, 0)).toBe(0);
    expect(ptes(dev, nul >>> 12, 1)[0]! & P_PRES).toBe(P_PRES);
    expect(dev._MapIntoV86(nul, vm.handle, 0xc0, 3, 0, 0)).not.toBe(0);
    expect(ptes(dev.inVM(vm.handle), 0xc0, 3).map((e) => e >>> 12)).toEqual([
      nulFrame(dev),
      nulFrame(dev),
      nulFrame(dev),
    ]);
    expect(kernel.check()).toEqual([]);
  });
});

describe('_MapPhysToLinear', () => {
  it('device memory at 0E0000000h: bytes written at the linear address are at the physical one', () => {
    const { kernel, dev } = withVm();
    const linear = dev._MapPhysToLinear(0xe0000010, 0x2000, 0);
    expect(linear).not.toBe(ERROR_DWORD);
    expect(linear % 4096).toBe(0x10);
    kernel.writeLinear(null, linear + 0x1ff0, bytes(1, 2, 3, 4));
    expect(kernel.readPhysical(0xe0002000, 4)).toEqual(bytes(1, 2, 3, 4));
    const entries = ptes(dev, linear >>> 12, 3);
    expect(entries.map((e) => e >>> 12)).toEqual([0xe0000, 0xe0001, 0xe0002]);
    for (const entry of entries) expect(entry & (P_PRES | P_PCD)).toBe(P_PRES | P_PCD);
    expect(kernel.check()).toEqual([]);
  });

  it('a range an earlier alias covers is reached through that alias', () => {
    const { dev } = withVm();
    const linear = dev._MapPhysToLinear(0xe0000000, 0x4000, 0);
    expect(dev._MapPhysToLinear(0xe0002345, 16, 0)).toBe(linear + 0x2345);
  });

  // [I] "Purpose: only for device memory" (reference §2.15): a lasting alias of RAM would
  // outlive the block that owns the frames, so RAM is refused.
  it('RAM is refused with 0FFFFFFFFh: the service is only for device memory', () => {
    const { kernel, dev } = withVm();
    const before = kernel.check();
    expect(dev._MapPhysToLinear(0x100000, 4096, 0)).toBe(ERROR_DWORD);
    expect(dev._MapPhysToLinear(0x9f000, 0x2000, 0)).toBe(ERROR_DWORD); // RAM, then VGA
    expect(dev.lastError?.reason).toMatch(/RAM/);
    expect(kernel.check()).toEqual(before);
  });

  it('returns 0FFFFFFFFh for an unaddressable range, nBytes 0, or flags ≠ 0', () => {
    const { dev } = withVm();
    expect(dev._MapPhysToLinear(0x50000000, 4096, 0)).toBe(ERROR_DWORD);
    expect(dev._MapPhysToLinear(0xe0000000, 0, 0)).toBe(ERROR_DWORD);
    expect(dev._MapPhysToLinear(0xfffff000, 0x2000, 0)).toBe(ERROR_DWORD);
    expect(dev._MapPhysToLinear(0xe0000000, 4096, 1)).toBe(ERROR_DWORD);
  });
});
