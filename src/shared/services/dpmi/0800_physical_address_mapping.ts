/**
 * DPMI 0800h Physical Address Mapping — DPMI 1.0 and seed 004. Maps physical address BX:CX,
 * size SI:DI, into the calling VM's private arena → BX:CX linear (+ the low 12 bits of the
 * physical address). 8021h below 1 MiB, size 0 or wrap past 4 GiB; 8003h a range touching
 * RAM; 8012h no linear space. An existing mapping that covers the range is reused with a
 * reference count [I, reference §4.2]; new PTEs are P|W|U|PCD.
 */
import { fail } from '../../assert.js';
import { blockWord, findMappingCovering } from '../../blocks.js';
import {
  DPMI_INVALID_VALUE,
  DPMI_LINEAR_MEMORY_UNAVAILABLE,
  DPMI_SYSTEM_INTEGRITY,
  PG_VM,
  P_PCD,
} from '../../constants.js';
import type { Context } from '../../context.js';
import { BK, BlockKind, HOLE_END_PAGE, LOCK_BLOCKS, PAGE_SIZE } from '../../layout.js';
import { Arena, arenaOf } from '../../linear.js';
import { mapPhysPages, removeMapping, reserveMapping } from '../mapping.js';
import { addBlockRef } from '../service.js';
import { dpmiError, hi, lo, pair, type Registers, USER_PERMS, withRegs } from './registers.js';

export function mapPhysical(ctx: Context, regs: Registers): Registers {
  const phys = pair(regs.bx, regs.cx);
  const size = pair(regs.si, regs.di);
  if (phys < 0x100000) return dpmiError(ctx, regs, DPMI_INVALID_VALUE, 'address is below 1 MB');
  if (size === 0 || phys + size - 1 > 0xffffffff)
    return dpmiError(ctx, regs, DPMI_INVALID_VALUE, 'size 0 or range wraps past 4 GB');
  const firstPhys = Math.floor(phys / PAGE_SIZE);
  const count = Math.floor((phys + size - 1) / PAGE_SIZE) - firstPhys + 1;
  // Every page from 1 MiB (HOLE_END_PAGE) to the top of RAM is RAM, and the range starts at
  // 1 MiB or above: it touches RAM exactly when it starts below the top.
  if (!(firstPhys >= HOLE_END_PAGE)) fail('mapPhysical: the range starts below 1 MiB');
  if (firstPhys < ctx.l.options.ramPages)
    return dpmiError(ctx, regs, DPMI_SYSTEM_INTEGRITY, 'range is host RAM');
  ctx.locker.acquire(LOCK_BLOCKS);
  let block = findMappingCovering(ctx.l, ctx.vm, firstPhys, count);
  if (block >= 0) addBlockRef(ctx, block, 1);
  ctx.locker.release(LOCK_BLOCKS);
  if (block < 0) block = makeMapping(ctx, firstPhys, count);
  if (block < 0)
    return dpmiError(ctx, regs, DPMI_LINEAR_MEMORY_UNAVAILABLE, 'no linear space for the mapping');
  const linear =
    blockWord(ctx.l, block, BK.basePage) * PAGE_SIZE +
    (firstPhys - blockWord(ctx.l, block, BK.physPage)) * PAGE_SIZE +
    (phys % PAGE_SIZE);
  // the mapping lies in the caller's private arena and covers the whole range
  if (!(arenaOf(linear >>> 12) === Arena.private))
    fail('DPMI 0800h: mapping outside private arena');
  if (
    !(
      firstPhys + count <=
      blockWord(ctx.l, block, BK.physPage) + blockWord(ctx.l, block, BK.pageCount)
    )
  )
    fail('DPMI 0800h: mapping does not cover the range', firstPhys);
  return withRegs(regs, { bx: hi(linear), cx: lo(linear) });
}

function makeMapping(ctx: Context, firstPhys: number, count: number): number {
  const perms = USER_PERMS | P_PCD;
  const made = reserveMapping(ctx, Arena.private, ctx.vm, {
    pageCount: count,
    pType: PG_VM,
    vm: ctx.vm,
    flags: 0,
    kind: BlockKind.DPMI_MAPPING,
    space: ctx.vm,
    physPage: firstPhys,
    actor: ctx.actor,
    perms,
  });
  if (made === undefined) return -1;
  if (!(arenaOf(made.base + count - 1) === Arena.private))
    fail('DPMI 0800h: past the private arena');
  if (
    !mapPhysPages(
      ctx,
      ctx.vm,
      made.base,
      (i) => firstPhys + i,
      count,
      () => perms,
    )
  ) {
    removeMapping(ctx, made.block, ctx.vm);
    return -1;
  }
  return made.block;
}
