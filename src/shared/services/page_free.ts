/**
 * _PageFree(hMem, flags) — Win 3.1 and Win95 DDK. Synchronous.
 * Frees a block made by _PageAllocate or _PageReserve: its pages are decommitted and its
 * frames go back to the free list. Freeing a locked block is not an error.
 * Returns nonzero, or 0 for: flags other than 0 (or PC_STATIC, for a _PageReserve block); an
 * invalid handle; a free physical region (it can never be freed [I, reference §2.1]); the nul
 * page handle; a block reserved with PR_STATIC freed without PC_STATIC (Win95 DDK: PR_STATIC
 * "disallows commit, decommit and free operations unless a static flag is specified"; the
 * static flag of _PageFree is not named: PC_STATIC, as for _PageDecommit [I]).
 * Afterwards the free list has grown: Request 0 goes to the callbacks.
 */
import { BLOCK_LIVE, blockState, blockWord } from '../blocks.js';
import { PC_STATIC } from '../constants.js';
import { fail } from '../assert.js';
import type { Context } from '../context.js';
import { BK, BlockKind, LOCK_BLOCKS } from '../layout.js';
import { COMMON_SPACE, SYSTEM_VM } from '../page_table.js';
import { claimBlock, freeClaimedBlock } from './alloc.js';
import { STATIC_REASON, staticWithoutFlag } from './reserved_block.js';
import { claimLiveBlock, fail0, liveBlockOfHandle, type ServiceDef } from './service.js';

export function pageFree(ctx: Context, hMem: number, flags: number): number {
  if (flags !== 0 && flags !== PC_STATIC) return ctx.refuse(0, 'flags must be 0');
  ctx.locker.acquire(LOCK_BLOCKS);
  const claimed = claimFreeable(ctx, hMem, flags);
  ctx.locker.release(LOCK_BLOCKS);
  if (typeof claimed === 'string') return ctx.refuse(0, claimed);
  const space = blockWord(ctx.l, claimed, BK.space);
  freeClaimedBlock(ctx, claimed, space < 0 ? SYSTEM_VM : space);
  ctx.hooks.freeListGrew();
  return 1;
}

/**
 * The block of `hMem`, claimed for freeing, or why _PageFree refuses it. Found, checked and
 * claimed under one hold of the block-table lock (the caller's).
 */
function claimFreeable(ctx: Context, hMem: number, flags: number): number | string {
  const block = liveBlockOfHandle(ctx, hMem, ctx.vm);
  if (block < 0) return 'invalid memory handle';
  const kind = blockWord(ctx.l, block, BK.kind);
  if (flags !== 0 && kind !== BlockKind.RESERVED) return 'flags must be 0';
  if (kind === BlockKind.RESERVED && staticWithoutFlag(ctx, block, flags)) return STATIC_REASON;
  if (kind === BlockKind.REGION) return 'a free physical region can never be freed';
  if (kind !== BlockKind.ALLOCATION && kind !== BlockKind.RESERVED) return 'invalid memory handle';
  claimLiveBlock(ctx, block);
  return block;
}

export const _PageFree: ServiceDef = {
  name: '_PageFree',
  ordinal: 0x55,
  slot: -1,
  async: false,
  initOnly: false,
  failure: fail0,
  impl: pageFree as ServiceDef['impl'],
};

/** Destroy_VM: frees every block of the common arenas that belongs to `vm` (PG_VM, PG_HOOKED). */
export function freeVmBlocks(ctx: Context, vm: number): number {
  if (!(vm !== SYSTEM_VM)) fail('freeVmBlocks: the system VM is never destroyed');
  let freed = 0;
  for (let block = 0; block < ctx.l.options.blockMax; block++) {
    if (blockState(ctx.l, block) !== BLOCK_LIVE) continue;
    if (blockWord(ctx.l, block, BK.vm) !== vm || blockWord(ctx.l, block, BK.space) !== COMMON_SPACE)
      continue;
    if (blockWord(ctx.l, block, BK.kind) !== BlockKind.ALLOCATION) continue;
    if (claimBlock(ctx, block)) freed += freeClaimedBlock(ctx, block, SYSTEM_VM);
  }
  if (!(freed >= 0 && freed <= ctx.l.options.ramPages)) fail('freeVmBlocks: freed count', freed);
  return freed;
}
