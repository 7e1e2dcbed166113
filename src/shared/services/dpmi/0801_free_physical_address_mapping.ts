/**
 * DPMI 0801h Free Physical Address Mapping — DPMI 1.0 and seed 004. Frees the mapping at BX:CX
 * (an address 0800h returned; the last reference removes it). 8025h otherwise.
 */
import { fail } from '../../assert.js';
import { BLOCK_DYING, blockState, blockWord, findBlockContaining } from '../../blocks.js';
import { DPMI_INVALID_LINEAR_ADDRESS } from '../../constants.js';
import type { Context } from '../../context.js';
import { BK, BlockKind, LOCK_BLOCKS, PAGE_SIZE } from '../../layout.js';
import { Arena, arenaOf } from '../../linear.js';
import { removeMapping } from '../mapping.js';
import { addBlockRef, claimLiveBlock } from '../service.js';
import { dpmiError, pair, type Registers, withRegs } from './registers.js';

export function unmapPhysical(ctx: Context, regs: Registers): Registers {
  const page = Math.floor(pair(regs.bx, regs.cx) / PAGE_SIZE);
  const l = ctx.l;
  ctx.locker.acquire(LOCK_BLOCKS);
  // 0800h maps into the private arena only: elsewhere there is nothing to look up
  const found = arenaOf(page) === Arena.private ? findBlockContaining(l, ctx.vm, page) : -1;
  const block = found >= 0 && blockWord(l, found, BK.kind) === BlockKind.DPMI_MAPPING ? found : -1;
  const last = block >= 0 && blockWord(l, block, BK.refCount) === 1;
  if (!(block < 0 || blockWord(l, block, BK.refCount) >= 1)) fail('DPMI 0801h: refCount', block);
  if (block >= 0 && !last) addBlockRef(ctx, block, -1);
  if (last) claimLiveBlock(ctx, block);
  if (!(!last || blockState(l, block) === BLOCK_DYING)) fail('DPMI 0801h: last not claimed', block);
  ctx.locker.release(LOCK_BLOCKS);
  if (block < 0)
    return dpmiError(ctx, regs, DPMI_INVALID_LINEAR_ADDRESS, 'not an address 0800h returned');
  if (last) removeMapping(ctx, block, ctx.vm);
  return withRegs(regs, {});
}
