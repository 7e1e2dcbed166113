/**
 * Conformance: what the services fuzz (test/fuzz/services_fuzz.test.ts) found, one test each.
 * A bad argument is refused with the DDK's failure value, never thrown; instance data comes
 * too late once the snapshot is taken; a global alias of device memory is uncached; a lock a
 * VM took on a global V86 page outlives the VM without a false report from the checker; an Int
 * 31h register that holds no number reads as 0.
 */
import { describe, expect, it } from 'vitest';
import {
  ALWAYS_FIELD,
  createKernel,
  GVDAInstance,
  GVDAOptInstance,
  MAPV86_IGNOREWRAP,
  P_PCD,
  P_PRES,
  PAGEMAPGLOBAL,
  PG_VM,
  presets,
  type DeviceContext,
  type Kernel,
} from '../../src/index.js';

const INIT = ['Sys_Critical_Init', 'Device_Init', 'Init_Complete', 'Sys_VM_Init'] as const;

function boot(upTo: (typeof INIT)[number]): { kernel: Kernel; dev: DeviceContext } {
  const kernel = createKernel(presets.testMin);
  const dev = kernel.device('FUZZED');
  for (const message of INIT.slice(0, INIT.indexOf(upTo) + 1)) kernel.systemControl(message);
  return { kernel, dev };
}

/** Calls a service by name with arguments its TypeScript signature would not take. */
function callUntyped(ctx: DeviceContext, name: string, ...args: unknown[]): unknown {
  return (ctx as unknown as Record<string, (...rest: unknown[]) => unknown>)[name]!(...args);
}

const instance = (): Uint32Array => Uint32Array.from([0, 0, 0x500, 16, ALWAYS_FIELD]);

describe('instance data after Init_Complete was processed', () => {
  it('_AddInstanceItem, GVDAInstance, GVDAOptInstance are refused; a new VM still starts', () => {
    const { kernel, dev } = boot('Init_Complete'); // the phase is still Init_Complete: init-only
    expect(dev._AddInstanceItem(instance(), 0)).toBe(0);
    expect(dev.lastError?.reason).toBe('instance data after Init_Complete was processed');
    expect(dev._Allocate_Global_V86_Data_Area(16, GVDAInstance)).toBe(0);
    expect(dev._Allocate_Global_V86_Data_Area(16, GVDAOptInstance)).toBe(0);
    expect(dev._Allocate_Global_V86_Data_Area(16, 0)).not.toBe(0); // no instance data: allowed
    kernel.systemControl('Sys_VM_Init');
    kernel.createVM(); // made an assertion fail when an instance page had no snapshot
    expect(kernel.check()).toEqual([]);
  });

  it('instance data added while Init_Complete is processed reaches every new VM', () => {
    const kernel = createKernel(presets.testMin);
    const dev = kernel.device('FUZZED', {
      onControl: (message, device) => {
        if (message === 'Init_Complete') expect(device._AddInstanceItem(instance(), 0)).toBe(1);
      },
    });
    for (const message of INIT) kernel.systemControl(message);
    kernel.writeLinear(null, 0x500, Uint8Array.of(7));
    expect(kernel.readLinear(kernel.createVM(), 0x500, 1)).toEqual(Uint8Array.of(0)); // its copy
    expect(dev.lastError).toBeUndefined();
    expect(kernel.check()).toEqual([]);
  });
});

describe('_LinPageLock PAGEMAPGLOBAL of device memory', () => {
  it.each([
    ['the VGA window', 0xa0],
    ['the frame buffer', -1],
  ])('the global alias of %s is mapped with PCD, as device memory always is', (_what, page) => {
    const { kernel, dev } = boot('Sys_VM_Init');
    const first = page >= 0 ? page : dev._MapPhysToLinear(0xe0000000, 0x2000, 0) >>> 12;
    const alias = dev._LinPageLock(first, 2, PAGEMAPGLOBAL);
    expect(alias).not.toBe(0);
    const ptes = new Uint32Array(2);
    expect(dev._CopyPageTable(alias >>> 12, 2, ptes, 0)).toBe(1);
    for (const pte of ptes) expect(pte & (P_PRES | P_PCD)).toBe(P_PRES | P_PCD);
    expect(kernel.check()).toEqual([]);
    expect(dev._LinPageUnLock(alias >>> 12, 2, PAGEMAPGLOBAL)).toBe(1);
  });
});

describe('a lock a VM takes on a global V86 page', () => {
  it('outlives the VM (the frame is the system VM’s) without a locked-page-moved report', () => {
    const { kernel, dev } = boot('Sys_VM_Init');
    const vm = kernel.createVM();
    expect(vm.int31({ ax: 0x0600, bx: 0, cx: 0, si: 0, di: 6 }).cf).toBe(0); // linear 0: the IVT
    expect(dev.inVM(vm.handle)._LinPageLock(0x01, 1, 0)).toBe(1);
    kernel.destroyVM(vm);
    expect(kernel.check()).toEqual([]);
    expect(dev._LinPageUnLock(0x00, 2, 0)).toBe(1); // the locks are the frames', still there
    expect(kernel.check()).toEqual([]);
  });
});

describe('arguments no register can hold are refused, never thrown', () => {
  const odd: unknown[] = [1n, Symbol('odd'), 'c0011000', 0.5, NaN, undefined];
  const cases = odd.map((value) => [
    typeof value === 'bigint' ? `${value}n` : String(value),
    value,
  ]);

  it.each(cases)(
    'a VM handle %s: _PageAllocate, _MapIntoV86, _PhysIntoV86, _LinMapIntoV86 refuse it',
    (_what, handle) => {
      const { kernel, dev } = boot('Sys_VM_Init');
      const nul = dev._GetNulPageHandle();
      expect(callUntyped(dev, '_PageAllocate', 1, PG_VM, handle, 0, 0, 0, 0, 0)).toEqual({
        eax: 0,
        edx: 0,
      });
      expect(callUntyped(dev, '_MapIntoV86', nul, handle, 0xc0, 1, 0, 0)).toBe(0);
      expect(callUntyped(dev, '_PhysIntoV86', 0xa0, handle, 0xc0, 1, 0)).toBe(0);
      expect(callUntyped(dev, '_LinMapIntoV86', 0x200, handle, 0xc0, 1, 0)).toEqual({
        eax: 0,
        edx: 0,
      });
      expect(kernel.check()).toEqual([]);
    },
  );

  it('a VM handle as a numeric string or with a fraction is not a VM handle', () => {
    const { kernel, dev } = boot('Sys_VM_Init');
    const vm = kernel.createVM();
    for (const handle of [String(vm.handle), vm.handle + 0.5])
      expect(callUntyped(dev, '_PageAllocate', 1, PG_VM, handle, 0, 0, 0, 0, 0)).toEqual({
        eax: 0,
        edx: 0,
      });
    expect(dev._PageAllocate(1, PG_VM, vm.handle, 0, 0, 0, 0, 0).eax).not.toBe(0);
  });

  it.each(cases)(
    '%s as _MapIntoV86 flags is reserved bits, as _PhysIntoV86 PhysPage no memory',
    (_what, value) => {
      const { kernel, dev } = boot('Sys_VM_Init');
      const vm = kernel.createVM();
      const nul = dev._GetNulPageHandle();
      expect(callUntyped(dev, '_MapIntoV86', nul, vm.handle, 0xc0, 1, 0, value)).toBe(0);
      expect(dev.lastError?.reason).toBe('reserved flag bits');
      expect(callUntyped(dev, '_PhysIntoV86', value, vm.handle, 0xc0, 1, 0)).toBe(0);
      expect(dev._MapIntoV86(nul, vm.handle, 0xc0, 1, 0, MAPV86_IGNOREWRAP)).toBe(1);
      expect(kernel.check()).toEqual([]);
    },
  );

  it.each(cases)('Int 31h: a register holding %s reads as 0, as one not given', (_what, value) => {
    const { kernel } = boot('Sys_VM_Init');
    const vm = kernel.createVM();
    const int31 = (regs: Record<string, unknown>): unknown =>
      vm.int31(regs as unknown as Parameters<typeof vm.int31>[0]);
    expect(int31({ ax: value })).toMatchObject({ ax: 0x8001, cf: 1 }); // function 0: unsupported
    expect(int31({ ax: 0x0501, bx: value, cx: 0x1000 })).toMatchObject({ cf: 0 }); // 4 KiB
    const mapped = int31({ ax: 0x0800, bx: 0xe000, cx: value, si: value, di: 0x1000 });
    expect(mapped).toMatchObject({ cf: 0 }); // E0000000h, 4 KiB: the frame buffer
    expect(kernel.check()).toEqual([]);
  });

  it.each(cases)(
    '_Allocate_Global_V86_Data_Area nBytes %s: refused, and no lock is left held',
    (_what, nBytes) => {
      const { kernel, dev } = boot('Sys_Critical_Init');
      expect(callUntyped(dev, '_Allocate_Global_V86_Data_Area', nBytes, 0)).toBe(0);
      expect(dev.lastError?.reason).toBe('nBytes must be positive');
      expect(dev._Allocate_Global_V86_Data_Area(16, 0)).not.toBe(0);
      expect(kernel.check()).toEqual([]);
    },
  );
});
