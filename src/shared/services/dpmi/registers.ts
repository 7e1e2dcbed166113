/**
 * DPMI Int 31h registers: the register set a call takes and returns, 32-bit values split over
 * register pairs (BX:CX, SI:DI), and the success and failure returns (cf = 1 and AX the DPMI
 * error code) every function module uses. No DPMI function lives here.
 */
import { PG_TYPE_SHIFT, PG_VM, P_USER, P_WRITE } from '../../constants.js';
import type { Context } from '../../context.js';

export interface Registers {
  ax: number;
  bx: number;
  cx: number;
  dx: number;
  si: number;
  di: number;
  cf: 0 | 1;
}

export type RegistersIn = Partial<Omit<Registers, 'cf'>> & { ax: number };

export const pair = (high: number, low: number): number =>
  (((high & 0xffff) << 16) | (low & 0xffff)) >>> 0;

export const hi = (value: number): number => (value >>> 16) & 0xffff;

export const lo = (value: number): number => value & 0xffff;

export const USER_PERMS = P_WRITE | P_USER | (PG_VM << PG_TYPE_SHIFT);

/** The registers a successful call returns: `regs` with `changes`, cf clear unless given. */
export function withRegs(regs: Registers, changes: Partial<Registers>): Registers {
  return {
    ax: changes.ax ?? regs.ax,
    bx: changes.bx ?? regs.bx,
    cx: changes.cx ?? regs.cx,
    dx: changes.dx ?? regs.dx,
    si: changes.si ?? regs.si,
    di: changes.di ?? regs.di,
    cf: changes.cf ?? 0,
  };
}

export function dpmiError(ctx: Context, regs: Registers, code: number, reason: string): Registers {
  return ctx.refuse(withRegs(regs, { ax: code, cf: 1 }), reason);
}
