/**
 * The blocks of _PageReserve: finding the one reserved block a _PageCommit, _PageDecommit or
 * _PageFree range lies in, and the PR_STATIC rule ("disallows commit, decommit and free
 * operations unless a static flag is specified", Win95 DDK). No DDK service lives here.
 */
import { blockWord, findBlockContaining } from '../blocks.js';
import { PC_STATIC, PR_STATIC } from '../constants.js';
import type { Context } from '../context.js';
import { BK, BlockKind, LOCK_BLOCKS } from '../layout.js';
import { spaceOf } from '../page_table.js';
import { validPageRange } from './service.js';

/** The reserved block holding all of [page, page+npages) in the caller's view, or a reason. */
export function reservedBlockFor(ctx: Context, page: number, npages: number): number | string {
  if (!validPageRange(page, npages)) return 'invalid page range';
  ctx.locker.acquire(LOCK_BLOCKS);
  const block = findBlockContaining(ctx.l, spaceOf(page, ctx.vm), page);
  ctx.locker.release(LOCK_BLOCKS);
  if (block < 0 || blockWord(ctx.l, block, BK.kind) !== BlockKind.RESERVED)
    return 'page not reserved with _PageReserve';
  if (
    page + npages >
    blockWord(ctx.l, block, BK.basePage) + blockWord(ctx.l, block, BK.pageCount)
  ) {
    return 'range runs past the reserved block';
  }
  return block;
}

export const STATIC_REASON = 'reserved with PR_STATIC: PC_STATIC is required';

/** A PR_STATIC reservation changed without PC_STATIC (Win95 DDK, _PageReserve). */
export const staticWithoutFlag = (ctx: Context, block: number, flags: number): boolean =>
  (blockWord(ctx.l, block, BK.flags) & PR_STATIC) !== 0 && (flags & PC_STATIC) === 0;
