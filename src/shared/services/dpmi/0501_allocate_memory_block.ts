/**
 * DPMI 0501h Allocate Memory Block — DPMI 1.0. Allocates BX:CX bytes in the calling VM's
 * private arena → BX:CX linear, SI:DI handle (= the linear address). 8021h size 0; 8012h no
 * linear space; 8013h no physical memory.
 */
import {
  DPMI_INVALID_VALUE,
  DPMI_LINEAR_MEMORY_UNAVAILABLE,
  DPMI_PHYSICAL_MEMORY_UNAVAILABLE,
  PG_VM,
} from '../../constants.js';
import { fail } from '../../assert.js';
import type { Context } from '../../context.js';
import { BK, BlockKind, PAGE_SIZE } from '../../layout.js';
import { blockWord } from '../../blocks.js';
import { Arena } from '../../linear.js';
import { allocateBlock } from '../alloc.js';
import { dpmiError, hi, lo, pair, type Registers, USER_PERMS, withRegs } from './registers.js';

export function allocateMemory(ctx: Context, regs: Registers): Registers {
  const size = pair(regs.bx, regs.cx);
  if (size === 0) return dpmiError(ctx, regs, DPMI_INVALID_VALUE, 'size 0');
  const made = allocateBlock(ctx, {
    pageCount: Math.ceil(size / PAGE_SIZE),
    arena: Arena.private,
    spaceVm: ctx.vm,
    space: ctx.vm,
    ownerVm: ctx.vm,
    pType: PG_VM,
    perms: USER_PERMS,
    kind: BlockKind.DPMI_MEMORY,
    flags: 0,
    committed: true,
    zero: false,
    locked: false,
    fixed: false,
  });
  if (typeof made === 'string') {
    const code = made.includes('linear')
      ? DPMI_LINEAR_MEMORY_UNAVAILABLE
      : DPMI_PHYSICAL_MEMORY_UNAVAILABLE;
    return dpmiError(ctx, regs, code, made);
  }
  const linear = made.base * PAGE_SIZE;
  if (!(blockWord(ctx.l, made.block, BK.pageCount) * PAGE_SIZE >= size))
    fail('DPMI 0501h: too small');
  if (!(blockWord(ctx.l, made.block, BK.kind) === BlockKind.DPMI_MEMORY)) fail('DPMI 0501h: kind');
  return withRegs(regs, { bx: hi(linear), cx: lo(linear), si: hi(linear), di: lo(linear) });
}
