// Isolation (DESIGN.md §3, "who may call what"): a VM is ring-3 code. Its context offers
// Int 31h, ring-3 memory access and its handle, nothing else; devices act for a VM by its
// handle or through dev.inVM(handle). Each isolation break of issue 11 is refused or faults,
// a device cannot make one either, and the checker reports one planted in the page tables.
import { describe, expect, it } from 'vitest';
import {
  createKernel,
  ERROR_DWORD,
  GVDAInstance,
  type Kernel,
  makeActor,
  PageFaultError,
  PC_USER,
  PC_WRITEABLE,
  PD_ZEROINIT,
  PG_SYS,
  PG_VM,
  presets,
  PR_PRIVATE,
  PR_SYSTEM,
  P_USER,
  type Violation,
  type VmActor,
  type VmContext,
} from '../../src/index.js';
import { blockWord } from '../../src/shared/blocks.js';
import { BK, H } from '../../src/shared/layout.js';
import { pageDirOf, pteIndex, SYSTEM_VM } from '../../src/shared/page_table.js';
import { makePresent } from '../../src/shared/pte.js';
import { serviceTable } from '../../src/shared/services/index.js';

/** A machine after Sys_VM_Init with two VMs; a 4-page PG_SYS block; instance data. */
function machine() {
  const kernel = createKernel(presets.testMin);
  const dev = kernel.device('VDEV');
  kernel.systemControl('Sys_Critical_Init');
  kernel.systemControl('Device_Init');
  expect(dev._Allocate_Global_V86_Data_Area(64, GVDAInstance)).not.toBe(0);
  kernel.systemControl('Init_Complete');
  kernel.systemControl('Sys_VM_Init');
  const vm1 = kernel.createVM();
  const vm2 = kernel.createVM();
  const system = dev._PageAllocate(4, PG_SYS, 0, 0, 0, 0, 0, 0).eax;
  expect(system).not.toBe(0);
  return { kernel, dev, vm1, vm2, system, l: kernel.layout };
}

/** A DPMI 0501h block of `vm`, its first page written with `byte`: its linear address. */
function dpmiBlock(kernel: Kernel, vm: VmContext, byte: number): number {
  const out = vm.int31({ ax: 0x0501, bx: 0, cx: 0x1000 });
  expect(out.cf).toBe(0);
  const linear = ((out.bx << 16) | out.cx) >>> 0;
  vm.writeLinear(linear, new Uint8Array(16).fill(byte));
  expect(kernel.check()).toEqual([]);
  return linear;
}

/** The frame behind `page` in the address space of VM id `vm`. */
const frameAt = (kernel: Kernel, vm: number, page: number): number =>
  kernel.layout.ramWords[pteIndex(kernel.layout, vm, page)]! >>> 12;

const vmIdOf = (kernel: Kernel, vm: VmContext): number =>
  (kernel.vm(vm.handle) as unknown as { homeVm: number }).homeVm;

const kinds = (violations: Violation[]): string[] => [...new Set(violations.map((v) => v.kind))];

describe('a VM context is ring-3 code: Int 31h, ring-3 memory, its handle', () => {
  it('has no VMM service: calling one is a TypeError and changes nothing', () => {
    const { kernel, vm1, system } = machine();
    const vm = vm1 as unknown as Record<string, unknown>;
    for (const { name } of serviceTable) {
      expect(vm[name], name).toBeUndefined();
      expect(() => (vm[name] as (...a: unknown[]) => unknown)(1, 2, 3), name).toThrow(TypeError);
    }
    // The breaks of issue 11, as a VM would try them.
    const page = system >>> 12;
    expect(() => (vm['_PageModifyPermissions'] as Function)(page, 1, ~0, PC_USER)).toThrow();
    expect(() => (vm['_LinMapIntoV86'] as Function)(page, vm1.handle, 0xc0, 1, 0)).toThrow();
    expect(() => (vm['_PhysIntoV86'] as Function)(0x100, vm1.handle, 0xc0, 1, 0)).toThrow();
    expect(() => vm1.readLinear(system, 4)).toThrow(PageFaultError);
    expect(kernel.check()).toEqual([]);
  });

  it('cannot choose ring 0: kernel.readLinear/writeLinear with { ring: 0 } is a TypeError', () => {
    const { kernel, dev, vm1, system } = machine();
    kernel.writeLinear(null, system, Uint8Array.of(0x42));
    expect(() => kernel.readLinear(vm1, system, 1, { ring: 0 })).toThrow(TypeError);
    expect(() => kernel.writeLinear(vm1, system, Uint8Array.of(1), { ring: 0 })).toThrow(TypeError);
    expect(() => kernel.readLinear(vm1, system, 1)).toThrow(PageFaultError);
    // Ring-0 code in the VM's address space is a device acting for it.
    expect(kernel.readLinear(dev.inVM(vm1.handle), system, 1)).toEqual(Uint8Array.of(0x42));
    expect(kernel.check()).toEqual([]);
  });

  it("a scenario's VM actor holds Int 31h, ring-3 access, its handle and nothing else", async () => {
    const { kernel, vm1 } = machine();
    const actor = makeActor<VmActor>(
      kernel,
      kernel.vm(vm1.handle),
      { safePoint: async () => undefined, violation: () => undefined },
      { seed: 1, shared: kernel.layout.scenarioWords, options: {} },
    );
    expect(Object.keys(actor).sort()).toEqual(
      [
        'handle',
        'int31',
        'lastError',
        'name',
        'options',
        'random',
        'readLinear',
        'shared',
        'violation',
        'writeLinear',
      ].sort(),
    );
    expect(Object.isFrozen(actor)).toBe(true);
    expect((await actor.int31({ ax: 0x0501, bx: 0, cx: 0x1000 })).cf).toBe(0);
    expect(kernel.check()).toEqual([]);
  });

  it('a device acts for a VM through inVM: that VM is the current VM of its services', () => {
    const { kernel, dev, vm1, vm2 } = machine();
    const inVm1 = dev.inVM(vm1.handle);
    const page = inVm1._PageReserve(PR_PRIVATE, 1, 0) >>> 12;
    expect(inVm1._PageCommit(page, 1, PD_ZEROINIT, 0, PC_USER | PC_WRITEABLE)).toBe(1);
    vm1.writeLinear(page * 4096, Uint8Array.of(7));
    expect(kernel.readLinear(inVm1, page * 4096, 1)).toEqual(Uint8Array.of(7));
    expect(() => vm2.readLinear(page * 4096, 1)).toThrow(PageFaultError); // not VM 2's page
    expect(dev._PageQuery(page * 4096, new Uint32Array(7), 28)).toBe(28); // system VM: free
    expect(() => dev.inVM(0x1234)).toThrow(RangeError);
    kernel.destroyVM(vm1);
    expect(() => inVm1._PageFree(page * 4096, 0)).toThrow(/destroyed/);
    expect(kernel.check({ final: true })).toEqual([]);
  });
});

describe('a device cannot make a ring-3 mapping that breaks isolation', () => {
  it('_PageModifyPermissions: PC_USER on a system page returns 0FFFFFFFFh', () => {
    const { kernel, dev, vm1, system } = machine();
    const page = system >>> 12;
    expect(dev._PageModifyPermissions(page, 1, ~0 >>> 0, PC_USER | PC_WRITEABLE)).toBe(ERROR_DWORD);
    expect(dev.lastError?.reason).toContain('system arena');
    expect(() => vm1.readLinear(system, 4)).toThrow(PageFaultError);
    expect(kernel.check()).toEqual([]);
  });

  it('_PageCommit: PC_USER in a PR_SYSTEM reservation returns 0', () => {
    const { kernel, dev } = machine();
    const page = dev._PageReserve(PR_SYSTEM, 1, 0) >>> 12;
    expect(dev._PageCommit(page, 1, PD_ZEROINIT, 0, PC_USER)).toBe(0);
    expect(dev._PageCommit(page, 1, PD_ZEROINIT, 0, PC_WRITEABLE)).toBe(1);
    expect(kernel.check()).toEqual([]);
  });

  it("_PhysIntoV86 of a frame of VM 1's 0501h block into VM 2 returns 0; VM 2 sees its own", () => {
    const { kernel, dev, vm1, vm2 } = machine();
    const linear = dpmiBlock(kernel, vm1, 0x11);
    const frame = frameAt(kernel, vmIdOf(kernel, vm1), linear >>> 12);
    expect(dev._PhysIntoV86(frame, vm2.handle, 0xc0, 1, 0)).toBe(0);
    expect(dev.lastError?.reason).toContain('private to VM');
    expect(() => vm2.readLinear(0xc0 * 4096, 16)).toThrow(PageFaultError); // ROM: not present
    expect(kernel.check()).toEqual([]);
  });

  it("_MapIntoV86 of VM 1's PG_VM block into VM 2 returns 0", () => {
    const { kernel, dev, vm1, vm2 } = machine();
    const block = dev._PageAllocate(1, PG_VM, vm1.handle, 0, 0, 0, 0, 0).eax;
    expect(block).not.toBe(0);
    expect(dev._MapIntoV86(block, vm2.handle, 0xc0, 1, 0, 0)).toBe(0);
    expect(dev._MapIntoV86(block, vm1.handle, 0xc0, 1, 0, 0)).toBe(1); // its own VM: fine
    expect(kernel.check()).toEqual([]);
  });

  it("_LinMapIntoV86 of VM 1's private page into VM 2 returns 0 (device acting for VM 1)", () => {
    const { kernel, dev, vm1, vm2 } = machine();
    const linear = dpmiBlock(kernel, vm1, 0x22);
    const result = dev.inVM(vm1.handle)._LinMapIntoV86(linear >>> 12, vm2.handle, 0xc0, 1, 0);
    expect(result).toEqual({ eax: 0, edx: 0 });
    expect(kernel.check()).toEqual([]);
  });

  it('_PhysIntoV86 of a page-table frame returns 0', () => {
    const { kernel, dev, vm1 } = machine();
    const directory = pageDirOf(kernel.layout, vmIdOf(kernel, vm1));
    expect(dev._PhysIntoV86(directory, vm1.handle, 0xc0, 1, 0)).toBe(0);
    expect(dev.lastError?.reason).toContain('page table');
    expect(kernel.check()).toEqual([]);
  });

  it('_LinMapIntoV86 of the instance snapshot returns 0', () => {
    const { kernel, dev, vm1, l } = machine();
    const snapshot = l.header[H.snapshotBlock]!;
    const base = blockWord(l, snapshot, BK.basePage);
    const page = Array.from({ length: 0x110 }, (_, i) => base + i).find(
      (p) => pteIndex(l, SYSTEM_VM, p) >= 0 && (l.ramWords[pteIndex(l, SYSTEM_VM, p)]! & 1) !== 0,
    )!;
    expect(dev._LinMapIntoV86(page, vm1.handle, 0xc0, 1, 0)).toEqual({ eax: 0, edx: 0 });
    expect(kernel.check()).toEqual([]);
  });
});

describe('the checker reports an isolation break planted in the page tables', () => {
  it('a ring-3 PTE in VM 2 for a frame of a block private to VM 1', () => {
    const { kernel, vm1, vm2, l } = machine();
    const linear = dpmiBlock(kernel, vm1, 0x33);
    const frame = frameAt(kernel, vmIdOf(kernel, vm1), linear >>> 12);
    const index = pteIndex(l, vmIdOf(kernel, vm2), 0xc0);
    l.ramWords[index] = makePresent(frame, P_USER);
    const found = kernel.check();
    expect(kinds(found)).toEqual(['isolation']);
    expect(found[0]!.message).toContain('private to VM');
    expect(found[0]!.frame).toBe(frame);
    l.ramWords[index] = 0;
    expect(kernel.check()).toEqual([]);
  });

  it('a ring-3 PTE for a page table, and the U bit on a system-arena page', () => {
    const { kernel, vm1, system, l } = machine();
    const index = pteIndex(l, vmIdOf(kernel, vm1), 0xc0);
    l.ramWords[index] = makePresent(pageDirOf(l, vmIdOf(kernel, vm1)), P_USER);
    expect(kinds(kernel.check())).toEqual(['isolation']);
    expect(kernel.check()[0]!.message).toContain('page table');
    l.ramWords[index] = 0;
    const systemIndex = pteIndex(l, SYSTEM_VM, system >>> 12);
    l.ramWords[systemIndex] = (l.ramWords[systemIndex]! | P_USER) >>> 0;
    const found = kernel.check();
    expect(kinds(found)).toEqual(['isolation']);
    expect(found[0]!.message).toContain('system arena');
    expect(() => vm1.readLinear(system, 1)).not.toThrow(); // what the checker warns of
    l.ramWords[systemIndex] = (l.ramWords[systemIndex]! & ~P_USER) >>> 0;
    expect(kernel.check()).toEqual([]);
  });
});
