/**
 * The service table: every DDK service by its DDK name, and the typed device and VM
 * contexts that expose them. A grep for a DDK name finds its module, this table and traces.
 */
import { assert } from '../assert.js';
import { Context, type KernelHooks, SERVICE_SLOTS } from '../context.js';
import type { Layout } from '../layout.js';
import { _CopyPageTable } from './copy_page_table.js';
import { Int31, type Registers, type RegistersIn } from './dpmi.js';
import { _LinPageLock, _LinPageUnLock } from './lin_page_lock.js';
import { _MapFreePhysReg } from './map_free_phys_reg.js';
import { _LinMapIntoV86, _MapIntoV86, _PhysIntoV86 } from './map_into_v86.js';
import { _MapPhysToLinear } from './map_phys_to_linear.js';
import {
  _GetFreePageCount,
  _GetNulPageHandle,
  _SetFreePhysRegCalBk,
  Get_VMM_Reenter_Count,
} from './misc.js';
import { _PageAllocate } from './page_allocate.js';
import { _PageFree } from './page_free.js';
import { _PageLock, _PageUnLock } from './page_lock.js';
import { _PageModifyPermissions } from './page_modify_permissions.js';
import { _PageQuery } from './page_query.js';
import { _PageReAllocate } from './page_reallocate.js';
import { _PageCommit, _PageDecommit, _PageReserve } from './page_reserve.js';
import type { ServiceDef, TwoRegisters } from './service.js';
import { _UnmapFreePhysReg } from './unmap_free_phys_reg.js';
import {
  _AddInstanceItem,
  _Allocate_Global_V86_Data_Area,
  _Allocate_Temp_V86_Data_Area,
  _Free_Temp_V86_Data_Area,
} from './v86_data_area.js';
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

export type DeviceContext = Context & VmmServices;
export type VmContext = Context &
  VmmServices & {
    readonly handle: number;
    /** DPMI Int 31h: registers in, registers out with cf. */
    int31(regs: RegistersIn): Registers;
  };

/** A Context class whose prototype carries one method per service of the table. */
class ServiceContext extends Context {}
serviceTable.forEach((def, slot) => {
  def.slot = slot;
  Object.defineProperty(ServiceContext.prototype, def.name, {
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
});
Int31.slot = serviceTable.length;
assert(Int31.slot < SERVICE_SLOTS, 'service table larger than SERVICE_SLOTS');
Object.defineProperty(ServiceContext.prototype, 'int31', {
  value: function (this: Context, regs: RegistersIn): Registers {
    return this.dispatch(Int31, regs) as Registers;
  },
});

export function makeDeviceContext(
  l: Layout,
  hooks: KernelHooks,
  actor: number,
  name: string,
): DeviceContext {
  return new ServiceContext(l, hooks, actor, 'device', name, 0) as DeviceContext;
}

export function makeVmContext(
  l: Layout,
  hooks: KernelHooks,
  actor: number,
  name: string,
  vm: number,
  handle: number,
): VmContext {
  const ctx = new ServiceContext(l, hooks, actor, 'vm', name, vm) as VmContext;
  Object.defineProperty(ctx, 'handle', { value: handle, enumerable: true });
  return ctx;
}

export type { Registers, RegistersIn, TwoRegisters };

/** The DDK name of a service from the ordinal an actor's slot records. */
export function serviceNameOf(ordinal: number): string {
  if (ordinal === Int31.ordinal) return 'Int 31h';
  return serviceTable.find((def) => def.ordinal === ordinal)?.name ?? '(none)';
}
