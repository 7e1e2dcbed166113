/**
 * Conformance: DPMI Int 31h as the VM context calls it — seed 004's 0800h with the project's
 * refusals and reference counting (reference §4.2 recommendation), 0801h, 0501h/0502h,
 * 0600h/0601h and unsupported functions — and the CPU-style access of kernel.readLinear/
 * writeLinear: page faults for not-present pages and protection breaches, A and D bits.
 */
import { describe, expect, it } from 'vitest';
import {
  createKernel,
  presets,
  type DeviceContext,
  type Kernel,
  type VmContext,
  type DeviceInVm,
  type Registers,
  PageFaultError,
  DPMI_INVALID_HANDLE,
  DPMI_INVALID_LINEAR_ADDRESS,
  DPMI_INVALID_STATE,
  DPMI_INVALID_VALUE,
  DPMI_SYSTEM_INTEGRITY,
  DPMI_UNSUPPORTED_FUNCTION,
  PC_USER,
  PC_WRITEABLE,
  PD_ZEROINIT,
  PG_SYS,
  PR_PRIVATE,
  PR_SYSTEM,
  P_ACC,
  P_DIRTY,
  P_PCD,
  P_PRES,
  P_USER,
  P_WRITE,
} from '../../src/index.js';

function boot(): { kernel: Kernel; dev: DeviceContext; vm: VmContext } {
  const kernel = createKernel(presets.testMin);
  const dev = kernel.device('DPMITEST');
  for (const m of ['Sys_Critical_Init', 'Device_Init', 'Init_Complete', 'Sys_VM_Init'] as const)
    kernel.systemControl(m);
  return { kernel, dev, vm: kernel.createVM() };
}

const hi = (value: number): number => value >>> 16;
const lo = (value: number): number => value & 0xffff;
const bxcx = (r: Registers): number => ((r.bx << 16) | r.cx) >>> 0;
const sidi = (r: Registers): number => ((r.si << 16) | r.di) >>> 0;

/** Int 31h 0800h: map `size` bytes at physical `phys`. */
const map = (vm: VmContext, phys: number, size: number): Registers =>
  vm.int31({ ax: 0x0800, bx: hi(phys), cx: lo(phys), si: hi(size), di: lo(size) });
const unmap = (vm: VmContext, linear: number): Registers =>
  vm.int31({ ax: 0x0801, bx: hi(linear), cx: lo(linear) });

function expectError(r: Registers, code: number): void {
  expect(r.cf).toBe(1);
  expect(r.ax).toBe(code);
}

function pte(ctx: DeviceContext | DeviceInVm, page: number): number {
  const buffer = new Uint32Array(1);
  expect(ctx._CopyPageTable(page, 1, buffer, 0)).not.toBe(0);
  return buffer[0]!;
}

/** The PageFaultError `fn` throws. */
function faultOf(fn: () => unknown): PageFaultError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PageFaultError);
    return error as PageFaultError;
  }
  throw new Error('expected a page fault');
}

describe('Int 31h 0800h: physical address mapping', () => {
  it.each([
    ['the frame buffer', 0xe0000000],
    ['the coprocessor', 0xc0000000],
  ])('maps %s above 1 MB: CF clear, BX:CX a linear address that reaches the device', (_, phys) => {
    const { kernel, vm } = boot();
    const r = map(vm, phys, 0x10000);
    expect(r.cf).toBe(0);
    const linear = bxcx(r);
    kernel.writeLinear(vm, linear + 0xfffc, Uint8Array.of(1, 2, 3, 4));
    expect(kernel.readPhysical(phys + 0xfffc, 4)).toEqual(Uint8Array.of(1, 2, 3, 4));
    expect(kernel.check()).toEqual([]);
  });

  it('a device the host does not know (0D0000000h) is mapped too', () => {
    const { kernel, dev, vm } = boot();
    const r = map(vm, 0xd0000000, 0x1000);
    expect(r.cf).toBe(0);
    expect(pte(dev.inVM(vm.handle), bxcx(r) >>> 12) >>> 12).toBe(0xd0000);
    expect(kernel.check()).toEqual([]);
  });

  it('keeps the low 12 bits and sets PCD in P|W|U PTEs over the whole range', () => {
    const { dev, vm } = boot();
    const r = map(vm, 0xe0000123, 0x1000); // touches two pages
    expect(r.cf).toBe(0);
    const linear = bxcx(r);
    expect(linear & 0xfff).toBe(0x123);
    const buffer = new Uint32Array(2);
    expect(dev.inVM(vm.handle)._CopyPageTable(linear >>> 12, 2, buffer, 0)).not.toBe(0);
    expect([...buffer].map((e) => e >>> 12)).toEqual([0xe0000, 0xe0001]);
    const bits = P_PRES | P_WRITE | P_USER | P_PCD;
    for (const entry of buffer) expect(entry & bits).toBe(bits);
  });

  it('a repeat mapping reuses the existing one, with a reference count', () => {
    const { kernel, vm } = boot();
    const linear = bxcx(map(vm, 0xe0000000, 0x4000));
    const again = map(vm, 0xe0001010, 0x100);
    expect(again.cf).toBe(0);
    expect(bxcx(again)).toBe(linear + 0x1010);
    expect(unmap(vm, linear).cf).toBe(0);
    expect(kernel.readLinear(vm, linear, 1)).toHaveLength(1); // still one reference
    expect(unmap(vm, linear).cf).toBe(0);
    expect(() => kernel.readLinear(vm, linear, 1)).toThrow(PageFaultError);
    expectError(unmap(vm, linear), DPMI_INVALID_LINEAR_ADDRESS);
  });

  it('below 1 MB: CF set, AX = 8021h', () => {
    const { vm } = boot();
    expectError(map(vm, 0xa0000, 0x1000), DPMI_INVALID_VALUE);
    expectError(map(vm, 0xff000, 0x2000), DPMI_INVALID_VALUE);
  });

  it('general-purpose RAM: CF set, AX = 8003h', () => {
    const { vm } = boot();
    expectError(map(vm, 0x100000, 0x1000), DPMI_SYSTEM_INTEGRITY);
    expectError(map(vm, 0x150000, 0x10), DPMI_SYSTEM_INTEGRITY);
  });

  it('size 0 or a range that wraps past 4 GB: CF set, AX = 8021h', () => {
    const { vm } = boot();
    expectError(map(vm, 0xe0000000, 0), DPMI_INVALID_VALUE);
    expectError(map(vm, 0xfffff000, 0x2000), DPMI_INVALID_VALUE);
  });
});

describe('Int 31h 0801h: free physical address mapping', () => {
  it('frees a mapping once; a second free of the same address is 8025h', () => {
    const { kernel, vm } = boot();
    const linear = bxcx(map(vm, 0xe0000000, 0x1000));
    expect(unmap(vm, linear).cf).toBe(0);
    expect(() => kernel.readLinear(vm, linear, 1)).toThrow(PageFaultError);
    expectError(unmap(vm, linear), DPMI_INVALID_LINEAR_ADDRESS);
    expect(kernel.check()).toEqual([]);
  });

  it('an address 0800h did not return is 8025h', () => {
    const { vm } = boot();
    expectError(unmap(vm, 0x12345000), DPMI_INVALID_LINEAR_ADDRESS);
    const block = vm.int31({ ax: 0x0501, bx: 0, cx: 0x1000 });
    expectError(unmap(vm, bxcx(block)), DPMI_INVALID_LINEAR_ADDRESS); // a memory block, not a mapping
  });
});

describe('Int 31h 0501h/0502h: allocate and free a memory block', () => {
  it('0501h returns BX:CX linear and SI:DI handle of usable memory; 0502h frees it', () => {
    const { kernel, dev, vm } = boot();
    const warm = vm.int31({ ax: 0x0501, bx: 0, cx: 0x1000 }); // makes the private page table
    expect(vm.int31({ ax: 0x0502, si: warm.si, di: warm.di }).cf).toBe(0);
    const free = dev._GetFreePageCount(0).eax;
    const r = vm.int31({ ax: 0x0501, bx: 0, cx: 0x2000 });
    expect(dev._GetFreePageCount(0).eax).toBe(free - 2);
    expect(r.cf).toBe(0);
    const linear = bxcx(r);
    kernel.writeLinear(vm, linear + 0x1ffe, Uint8Array.of(5, 6));
    expect(kernel.readLinear(vm, linear + 0x1ffe, 2)).toEqual(Uint8Array.of(5, 6));
    const handle = sidi(r);
    expect(vm.int31({ ax: 0x0502, si: hi(handle), di: lo(handle) }).cf).toBe(0);
    expect(() => kernel.readLinear(vm, linear, 1)).toThrow(PageFaultError);
    expectError(vm.int31({ ax: 0x0502, si: hi(handle), di: lo(handle) }), DPMI_INVALID_HANDLE);
    expect(dev._GetFreePageCount(0).eax).toBe(free);
    expect(kernel.check()).toEqual([]);
  });

  it('0502h with an invalid handle is 8023h; 0501h of 0 bytes is 8021h', () => {
    const { vm } = boot();
    expectError(vm.int31({ ax: 0x0502, si: 0x1234, di: 0x5000 }), DPMI_INVALID_HANDLE);
    expectError(vm.int31({ ax: 0x0501, bx: 0, cx: 0 }), DPMI_INVALID_VALUE);
  });
});

describe('Int 31h 0600h/0601h: lock and unlock a linear region', () => {
  it('locks nest; unlocking a region that is not locked is 8002h', () => {
    const { kernel, vm } = boot();
    const linear = bxcx(vm.int31({ ax: 0x0501, bx: 0, cx: 0x2000 }));
    const region = { bx: hi(linear + 0x800), cx: lo(linear + 0x800), si: 0, di: 0x1000 }; // two pages
    expect(vm.int31({ ax: 0x0600, ...region }).cf).toBe(0);
    expect(vm.int31({ ax: 0x0600, ...region }).cf).toBe(0);
    expect(vm.int31({ ax: 0x0601, ...region }).cf).toBe(0);
    expect(vm.int31({ ax: 0x0601, ...region }).cf).toBe(0);
    expectError(vm.int31({ ax: 0x0601, ...region }), DPMI_INVALID_STATE);
    expect(kernel.check()).toEqual([]);
  });

  // [I] Device memory never moves: it is always locked, so 0600h/0601h on a 0800h mapping
  // succeed without counting (as _PageLock on a PageFixed block, reference §2.4).
  it('0600h/0601h on a 0800h device mapping succeed: device memory is always locked', () => {
    const { vm } = boot();
    const linear = bxcx(map(vm, 0xe0000000, 0x1000));
    const region = { bx: hi(linear), cx: lo(linear), si: 0, di: 0x10 };
    expect(vm.int31({ ax: 0x0601, ...region }).cf).toBe(0);
    expect(vm.int31({ ax: 0x0600, ...region }).cf).toBe(0);
    expect(vm.int31({ ax: 0x0601, ...region }).cf).toBe(0);
  });

  it('a region with an uncommitted page is 8025h', () => {
    const { dev, vm } = boot();
    const reserved = dev.inVM(vm.handle)._PageReserve(PR_PRIVATE, 1, 0);
    const region = { bx: hi(reserved), cx: lo(reserved), si: 0, di: 0x10 };
    expectError(vm.int31({ ax: 0x0600, ...region }), DPMI_INVALID_LINEAR_ADDRESS);
    expectError(vm.int31({ ax: 0x0601, ...region }), DPMI_INVALID_LINEAR_ADDRESS);
  });
});

describe('Int 31h: unsupported functions', () => {
  it.each([0xffff, 0x0508, 0x0509])('AX = %i: CF set, AX = 8001h', (ax) => {
    const { vm } = boot();
    expectError(vm.int31({ ax }), DPMI_UNSUPPORTED_FUNCTION);
  });
});

describe('kernel.readLinear / writeLinear: CPU-style access', () => {
  it('a not-present page raises a page fault with the faulting address', () => {
    const { kernel, dev } = boot();
    const reserved = dev._PageReserve(PR_SYSTEM, 1, 0);
    const read = faultOf(() => kernel.readLinear(null, reserved + 0x123, 4));
    expect(read).toMatchObject({ address: reserved + 0x123, write: false, present: false });
    const write = faultOf(() => kernel.writeLinear(null, reserved + 0x456, Uint8Array.of(1)));
    expect(write).toMatchObject({ address: reserved + 0x456, write: true, present: false });
  });

  it('an access running into a not-present page faults at the first byte of that page', () => {
    const { kernel, dev } = boot();
    const base = dev._PageReserve(PR_SYSTEM, 2, 0);
    expect(dev._PageCommit(base >>> 12, 1, PD_ZEROINIT, 0, PC_WRITEABLE)).not.toBe(0);
    const fault = faultOf(() => kernel.readLinear(null, base + 0xff0, 0x20));
    expect(fault.address).toBe(base + 0x1000);
  });

  it('ring 3 (a VM context) faults on a supervisor page; ring 0 reads it', () => {
    const { kernel, dev, vm } = boot();
    const address = dev._PageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0).edx;
    kernel.writeLinear(null, address, Uint8Array.of(0x42));
    const fault = faultOf(() => kernel.readLinear(vm, address, 1));
    expect(fault).toMatchObject({ address, user: true, present: true, write: false });
    expect(faultOf(() => kernel.writeLinear(vm, address, Uint8Array.of(1))).write).toBe(true);
    expect(kernel.readLinear(null, address, 1)).toEqual(Uint8Array.of(0x42));
    expect(kernel.readLinear(dev.inVM(vm.handle), address, 1)).toEqual(Uint8Array.of(0x42));
  });

  it('a write to a read-only page faults, at ring 3 and at ring 0', () => {
    const { kernel, dev, vm } = boot();
    const page = dev.inVM(vm.handle)._PageReserve(PR_PRIVATE, 1, 0) >>> 12;
    expect(dev.inVM(vm.handle)._PageCommit(page, 1, PD_ZEROINIT, 0, PC_USER)).not.toBe(0);
    const address = page * 4096 + 8;
    const fault = faultOf(() => kernel.writeLinear(vm, address, Uint8Array.of(1)));
    expect(fault).toMatchObject({ address, write: true, present: true });
    expect(
      faultOf(() => kernel.writeLinear(dev.inVM(vm.handle), address, Uint8Array.of(1))).write,
    ).toBe(true);
    expect(kernel.readLinear(vm, address, 1)).toEqual(Uint8Array.of(0));
  });

  it('a read sets A; a write sets A and D', () => {
    const { kernel, dev } = boot();
    const page = dev._PageAllocate(2, PG_SYS, 0, 0, 0, 0, null, 0).edx >>> 12;
    expect(pte(dev, page) & (P_ACC | P_DIRTY)).toBe(0);
    kernel.readLinear(null, page * 4096, 1);
    expect(pte(dev, page) & (P_ACC | P_DIRTY)).toBe(P_ACC);
    kernel.writeLinear(null, (page + 1) * 4096, Uint8Array.of(1));
    expect(pte(dev, page + 1) & (P_ACC | P_DIRTY)).toBe(P_ACC | P_DIRTY);
    kernel.writeLinear(null, page * 4096, Uint8Array.of(1));
    expect(pte(dev, page) & (P_ACC | P_DIRTY)).toBe(P_ACC | P_DIRTY);
  });
});
