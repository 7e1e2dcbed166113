/**
 * Who makes a linear access through the kernel (readLinear, writeLinear): the address space
 * and ring of a device, a device's view of a VM, a VM, or ring-0 code in the system VM.
 */
import type { AccessOptions } from './memory_access.js';
import type { Layout } from './layout.js';
import { vmOfHandle } from './machine.js';
import { SYSTEM_VM } from './page_table.js';
import {
  type DeviceContext,
  type DeviceInVm,
  isDeviceInVm,
  type VmContext,
  type VmCore,
} from './services/index.js';

/** Who makes a linear access: null (ring 0, system VM), a device, a device in a VM, a VM. */
export type AccessWho = VmContext | DeviceContext | DeviceInVm | null;

/** The address space and ring of an access by `who`. */
export function accessOf(
  l: Layout,
  who: AccessWho,
  options: AccessOptions | undefined,
): [number, 0 | 3] {
  const ring = options?.ring;
  if (ring !== undefined && ring !== 0 && ring !== 3) {
    throw new TypeError(`readLinear/writeLinear: ring must be 0 or 3, got ${String(ring)}`);
  }
  if (who === null) return [SYSTEM_VM, ring ?? 0];
  if (isDeviceInVm(who)) return [who.currentVm(), ring ?? 0];
  const ctx = who as unknown as VmCore | DeviceContext;
  if (ctx.kind === 'vm' && 'handle' in ctx) {
    if (ring === 0) throw new TypeError(`${ctx.name}: a VM's memory access is ring 3`);
    const vm = vmOfHandle(l, ctx.handle);
    if (vm < 0) throw new RangeError(`${ctx.name}: the VM has been destroyed`);
    return [vm, 3];
  }
  return [ctx.vm, ring ?? 0];
}
