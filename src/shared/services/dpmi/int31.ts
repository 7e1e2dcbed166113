/**
 * DPMI Int 31h as a register-level call — DPMI 1.0 and seed 004. Synchronous.
 * Takes { ax, bx, cx, dx, si, di } and returns them with cf; on failure cf = 1 and AX the
 * DPMI error code. Memory belongs to the calling VM's private arena.
 * - 0800h map physical address BX:CX, size SI:DI → BX:CX linear (+ the low 12 bits of the
 *   physical address). 8021h below 1 MiB, size 0 or wrap past 4 GiB; 8003h a range touching
 *   RAM. An existing mapping that covers the range is reused with a reference count [I,
 *   reference §4.2]; new PTEs are P|W|U|PCD.
 * - 0801h free the mapping at BX:CX (an address 0800h returned). 8025h otherwise.
 * - 0501h allocate BX:CX bytes → BX:CX linear, SI:DI handle (= the linear address).
 *   8021h size 0; 8012h no linear space; 8013h no physical memory.
 * - 0502h free the block whose handle is SI:DI. 8023h invalid handle.
 * - 0600h / 0601h lock / unlock the linear region BX:CX, size SI:DI. 8025h a page not
 *   committed; 8002h (unlock) a page not locked.
 * - anything else: 8001h unsupported function.
 */
import { DPMI_INVALID_STATE, DPMI_UNSUPPORTED_FUNCTION } from '../../constants.js';
import type { Context } from '../../context.js';
import { type ServiceDef } from '../service.js';
import { dpmiError, type Registers, type RegistersIn } from './registers.js';
import { allocateMemory } from './0501_allocate_memory_block.js';
import { freeMemory } from './0502_free_memory_block.js';
import { lockRegion } from './0600_0601_lock_unlock_linear_region.js';
import { mapPhysical } from './0800_physical_address_mapping.js';
import { unmapPhysical } from './0801_free_physical_address_mapping.js';

/** A register holds a number: anything else (a string, a BigInt) reads as 0, like one not given. */
const register = (value: unknown): number => (typeof value === 'number' ? value : 0);

export function int31(ctx: Context, input: RegistersIn): Registers {
  // The six registers, read one by one into one shape (a spread of callers' objects of many
  // shapes was a fifth of the call); anything else the caller's object holds is not a register.
  const regs: Registers = {
    ax: register(input.ax),
    bx: register(input.bx),
    cx: register(input.cx),
    dx: register(input.dx),
    si: register(input.si),
    di: register(input.di),
    cf: 0,
  };
  switch (regs.ax & 0xffff) {
    case 0x0800:
      return mapPhysical(ctx, regs);
    case 0x0801:
      return unmapPhysical(ctx, regs);
    case 0x0501:
      return allocateMemory(ctx, regs);
    case 0x0502:
      return freeMemory(ctx, regs);
    case 0x0600:
      return lockRegion(ctx, regs, true);
    case 0x0601:
      return lockRegion(ctx, regs, false);
    default:
      return dpmiError(ctx, regs, DPMI_UNSUPPORTED_FUNCTION, 'unsupported function');
  }
}

export const Int31: ServiceDef = {
  name: 'Int 31h',
  ordinal: 0x31,
  slot: -1,
  async: false,
  initOnly: false,
  failure: () => ({ ax: DPMI_INVALID_STATE, bx: 0, cx: 0, dx: 0, si: 0, di: 0, cf: 1 }),
  impl: int31 as ServiceDef['impl'],
};
