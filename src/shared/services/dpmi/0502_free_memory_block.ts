/**
 * DPMI 0502h Free Memory Block — DPMI 1.0. Frees the block whose handle is SI:DI. 8023h an
 * invalid handle.
 */
import { BLOCK_DYING, BLOCK_LIVE, blockState, blockWord, findBlock } from '../../blocks.js';
import { DPMI_INVALID_HANDLE } from '../../constants.js';
import { fail } from '../../assert.js';
import type { Context } from '../../context.js';
import { BK, BlockKind, LOCK_BLOCKS, PAGE_SIZE } from '../../layout.js';
import { freeClaimedBlock } from '../alloc.js';
import { claimLiveBlock } from '../service.js';
import { dpmiError, pair, type Registers, withRegs } from './registers.js';

export function freeMemory(ctx: Context, regs: Registers): Registers {
  const handle = pair(regs.si, regs.di);
  // Found and claimed under one hold of the block-table lock.
  ctx.locker.acquire(LOCK_BLOCKS);
  const block = handle % PAGE_SIZE === 0 ? findBlock(ctx.l, ctx.vm, handle / PAGE_SIZE) : -1;
  const valid =
    block >= 0 &&
    blockState(ctx.l, block) === BLOCK_LIVE &&
    blockWord(ctx.l, block, BK.kind) === BlockKind.DPMI_MEMORY;
  if (valid) claimLiveBlock(ctx, block);
  ctx.locker.release(LOCK_BLOCKS);
  if (!valid) return dpmiError(ctx, regs, DPMI_INVALID_HANDLE, 'invalid handle');
  const pages = blockWord(ctx.l, block, BK.pageCount);
  if (!(blockState(ctx.l, block) === BLOCK_DYING)) fail('DPMI 0502h: block not claimed', block);
  const freed = freeClaimedBlock(ctx, block, ctx.vm);
  if (!(freed <= pages)) fail('DPMI 0502h: freed more frames than pages', freed);
  ctx.hooks.freeListGrew();
  return withRegs(regs, {});
}
