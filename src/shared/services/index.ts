/**
 * The service table: every DDK service by its DDK name, and the typed device and VM
 * contexts that expose them. A grep for a DDK name finds its module, this table and traces.
 */
import { fail } from '../assert.js';
import { Context, type KernelHooks, type Refusal, SERVICE_SLOTS } from '../context.js';
import type { Layout } from '../layout.js';
import { vmOfHandle } from '../machine.js';
import { readLinear, writeLinear } from '../memory_access.js';
import { _CopyPageTable } from './copy_page_table.js';
import { Int31 } from './dpmi/int31.js';
import type { Registers, RegistersIn } from './dpmi/registers.js';
import { _LinPageLock } from './lin_page_lock.js';
import { _LinPageUnLock } from './lin_page_unlock.js';
import { _MapFreePhysReg } from './map_free_phys_reg.js';
import { _LinMapIntoV86 } from './lin_map_into_v86.js';
import { _MapIntoV86 } from './map_into_v86.js';
import { _PhysIntoV86 } from './phys_into_v86.js';
import { _MapPhysToLinear } from './map_phys_to_linear.js';
import { _GetFreePageCount } from './get_free_page_count.js';
import { _GetNulPageHandle } from './get_nul_page_handle.js';
import { Get_VMM_Reenter_Count } from './get_vmm_reenter_count.js';
import { _SetFreePhysRegCalBk } from './set_free_phys_reg_cal_bk.js';
import { _PageAllocate } from './page_allocate.js';
import { _PageFree } from './page_free.js';
import { _PageLock } from './page_lock.js';
import { _PageUnLock } from './page_unlock.js';
import { _PageModifyPermissions } from './page_modify_permissions.js';
import { _PageQuery } from './page_query.js';
import { _PageReAllocate } from './page_reallocate.js';
import { _PageCommit } from './page_commit.js';
import { _PageDecommit } from './page_decommit.js';
import { _PageReserve } from './page_reserve.js';
import { isDword, type ServiceDef, type TwoRegisters } from './service.js';
import { _UnmapFreePhysReg } from './unmap_free_phys_reg.js';
import { _AddInstanceItem } from './add_instance_item.js';
import { _Allocate_Global_V86_Data_Area } from './allocate_global_v86_data_area.js';
import { _Allocate_Temp_V86_Data_Area } from './allocate_temp_v86_data_area.js';
import { _Free_Temp_V86_Data_Area } from './free_temp_v86_data_area.js';
import { _XchgFreePhysReg } from './xchg_free_phys_reg.js';
import type { FreePhysRegCallback } from '../context.js';

export const serviceTable: readonly ServiceDef[] = [
  Get_VMM_Reenter_Count,
  _PageAllocate,
  _PageReAllocate,
  _PageFree,
  _PageLock,
  _PageUnLock,
  _GetFreePageCount,
  _MapIntoV86,
  _PhysIntoV86,
  _CopyPageTable,
  _LinMapIntoV86,
  _LinPageLock,
  _LinPageUnLock,
  _GetNulPageHandle,
  _MapPhysToLinear,
  _AddInstanceItem,
  _Allocate_Global_V86_Data_Area,
  _Allocate_Temp_V86_Data_Area,
  _Free_Temp_V86_Data_Area,
  _MapFreePhysReg,
  _UnmapFreePhysReg,
  _XchgFreePhysReg,
  _SetFreePhysRegCalBk,
  _PageReserve,
  _PageCommit,
  _PageDecommit,
  _PageModifyPermissions,
  _PageQuery,
];

/** Every VMM memory service, with the DDK's parameters in the DDK's order. */
export interface VmmServices {
  Get_VMM_Reenter_Count(): number;
  _PageAllocate(
    nPages: number,
    pType: number,
    VM: number,
    AlignMask: number,
    minPhys: number,
    maxPhys: number,
    PhysAddrPtr: Uint32Array | 0 | null,
    flags: number,
  ): TwoRegisters;
  _PageReAllocate(hMem: number, nPages: number, flags: number): TwoRegisters;
  _PageFree(hMem: number, flags: number): number;
  _PageLock(hMem: number, nPages: number, PageOff: number, flags: number): number;
  _PageUnLock(hMem: number, nPages: number, PageOff: number, flags: number): number;
  _GetFreePageCount(flags: number): TwoRegisters;
  _MapIntoV86(
    hMem: number,
    VM: number,
    VMLinPgNum: number,
    nPages: number,
    PageOff: number,
    flags: number,
  ): number;
  _PhysIntoV86(
    PhysPage: number,
    VM: number,
    VMLinPgNum: number,
    nPages: number,
    flags: number,
  ): number;
  _CopyPageTable(LinPgNum: number, nPages: number, PageBufPtr: Uint32Array, flags: number): number;
  _LinMapIntoV86(
    HLinPgNum: number,
    VM: number,
    VMLinPgNum: number,
    nPages: number,
    flags: number,
  ): TwoRegisters;
  _LinPageLock(HLinPgNum: number, nPages: number, flags: number): number;
  _LinPageUnLock(HLinPgNum: number, nPages: number, flags: number): number;
  _GetNulPageHandle(): number;
  _MapPhysToLinear(PhysAddr: number, nBytes: number, flags: number): number;
  _AddInstanceItem(pInstDataStruc: Uint32Array, flags: number): number;
  _Allocate_Global_V86_Data_Area(nBytes: number, flags: number): number;
  _Allocate_Temp_V86_Data_Area(nBytes: number, flags: number): number;
  _Free_Temp_V86_Data_Area(): number;
  _MapFreePhysReg(LinPgNum: number, nPages: number, flags: number): number;
  _UnmapFreePhysReg(LinPgNum: number, nPages: number, flags: number): number;
  _XchgFreePhysReg(LinPgNum: number, PhysAddr: number, flags: number): number;
  _SetFreePhysRegCalBk(Callback: FreePhysRegCallback, flags: number): number;
  _PageReserve(page: number, npages: number, flags: number): number;
  _PageCommit(page: number, npages: number, hpd: number, pagerdata: number, flags: number): number;
  _PageDecommit(page: number, npages: number, flags: number): number;
  _PageModifyPermissions(page: number, npages: number, permand: number, permor: number): number;
  _PageQuery(linaddr: number, pmbi: Uint32Array, cbmbi: number): number;
}

/** A device's services with another VM as the current VM (`dev.inVM(vmHandle)`). */
export type DeviceInVm = VmmServices & {
  /** The device acting. */
  readonly device: DeviceContext;
  /** The VM it acts for: the current VM of every service called through this view. */
  readonly vmHandle: number;
  /** Why the device's last failed service failed. */
  readonly lastError: Refusal | undefined;
};

/**
 * A device (VxD, ring 0): every VMM service by its DDK name. Its current VM is the system VM;
 * `inVM(handle)` gives the same device with that VM current, for services that work on the
 * current VM (_PageReserve(PR_PRIVATE), _CopyPageTable, _LinPageLock, _PageQuery, …).
 */
export type DeviceContext = Context &
  VmmServices & {
    inVM(vmHandle: number): DeviceInVm;
  };

/**
 * A VM as its own code sees it (ring 3, DESIGN.md §3 "who may call what"): its handle, DPMI
 * Int 31h, and memory through its page tables at ring 3. No VMM service, no choice of ring.
 */
export interface VmContext {
  readonly kind: 'vm';
  readonly name: string;
  readonly handle: number;
  /** Why the last Int 31h call failed ({ service, reason }). */
  readonly lastError: Refusal | undefined;
  /** DPMI Int 31h: registers in, registers out with cf. */
  int31(regs: RegistersIn): Registers;
  /** Reads through the VM's page tables at ring 3; a fault throws PageFaultError. */
  readLinear(address: number, length: number): Uint8Array;
  /** Writes through the VM's page tables at ring 3; a fault throws PageFaultError. */
  writeLinear(address: number, bytes: Uint8Array): void;
}

/** The runtime's side of a VM: its context (statistics, reenter count, locks) as well. */
export type VmCore = Context & VmContext;

/** A device: a Context whose prototype carries one method per service of the table. */
class DeviceServiceContext extends Context {
  inVM(vmHandle: number): DeviceInVm {
    const vm = isDword(vmHandle) ? vmOfHandle(this.l, vmHandle) : -1;
    if (vm < 0) throw new RangeError(`inVM: ${String(vmHandle)} is not a live VM handle`);
    return new DeviceView(
      this as unknown as DeviceContext,
      vmHandle >>> 0,
      vm,
    ) as unknown as DeviceInVm;
  }
}

/** A device acting for one VM: each service runs with that VM as the current VM. */
class DeviceView {
  constructor(
    readonly device: DeviceContext,
    readonly vmHandle: number,
    private readonly vmId: number,
  ) {}

  get lastError(): Refusal | undefined {
    return this.device.lastError;
  }

  /** The VM's id, checked live at each call: a view outliving its VM is refused. */
  currentVm(): number {
    if (vmOfHandle(this.device.l, this.vmHandle) !== this.vmId) {
      throw new RangeError(`inVM: VM ${this.vmHandle.toString(16)}h has been destroyed`);
    }
    return this.vmId;
  }
}

/** True for a device's view of a VM (kernel.readLinear takes one: ring 0 in that VM). */
export function isDeviceInVm(value: unknown): value is DeviceInVm & { currentVm(): number } {
  return value instanceof DeviceView;
}

serviceTable.forEach((def, slot) => {
  def.slot = slot;
  Object.defineProperty(DeviceServiceContext.prototype, def.name, {
    value: function (
      this: Context,
      a?: unknown,
      b?: unknown,
      c?: unknown,
      d?: unknown,
      e?: unknown,
      f?: unknown,
      g?: unknown,
      h?: unknown,
    ): unknown {
      return this.dispatch(def, a, b, c, d, e, f, g, h);
    },
  });
  Object.defineProperty(DeviceView.prototype, def.name, {
    value: function (
      this: DeviceView,
      a?: unknown,
      b?: unknown,
      c?: unknown,
      d?: unknown,
      e?: unknown,
      f?: unknown,
      g?: unknown,
      h?: unknown,
    ): unknown {
      const device = this.device as unknown as Context;
      return device.dispatchIn(this.currentVm(), def, a, b, c, d, e, f, g, h);
    },
  });
});
Int31.slot = serviceTable.length;
if (!(Int31.slot < SERVICE_SLOTS)) fail('service table larger than SERVICE_SLOTS');

/** A VM: Int 31h and ring-3 memory access, nothing else (no service method at all). */
class VmServiceContext extends Context implements VmContext {
  declare readonly kind: 'vm';
  constructor(
    l: Layout,
    hooks: KernelHooks,
    actor: number,
    name: string,
    vm: number,
    readonly handle: number,
  ) {
    super(l, hooks, actor, 'vm', name, vm);
  }

  int31(regs: RegistersIn): Registers {
    return this.dispatch(Int31, regs) as Registers;
  }

  readLinear(address: number, length: number): Uint8Array {
    if (this.broken !== undefined) throw this.broken;
    return readLinear(this, this.homeVm, address, length, { ring: 3 });
  }

  writeLinear(address: number, bytes: Uint8Array): void {
    if (this.broken !== undefined) throw this.broken;
    writeLinear(this, this.homeVm, address, bytes, { ring: 3 });
  }
}

export function makeDeviceContext(
  l: Layout,
  hooks: KernelHooks,
  actor: number,
  name: string,
): DeviceContext {
  return new DeviceServiceContext(l, hooks, actor, 'device', name, 0) as DeviceContext;
}

export function makeVmContext(
  l: Layout,
  hooks: KernelHooks,
  actor: number,
  name: string,
  vm: number,
  handle: number,
): VmCore {
  return new VmServiceContext(l, hooks, actor, name, vm, handle);
}

export type { Registers, RegistersIn, TwoRegisters };

/** The DDK name of a service from the ordinal an actor's slot records. */
export function serviceNameOf(ordinal: number): string {
  if (ordinal === Int31.ordinal) return 'Int 31h';
  return serviceTable.find((def) => def.ordinal === ordinal)?.name ?? '(none)';
}
