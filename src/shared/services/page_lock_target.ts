/**
 * What _PageLock and _PageUnLock share: the pages of a handle they name, and the
 * PageLockedIfDP phase rule. No DDK service lives here; the lock counts are in lock_pages.ts.
 * PageFixed blocks are always locked: both services do nothing to them and succeed.
 */
import { blockWord } from '../blocks.js';
import { ControlMessage, PageFixed, PageLockedIfDP } from '../constants.js';
import type { Context } from '../context.js';
import { BK, BlockKind, H } from '../layout.js';
import { blockOfHandle } from './service.js';

export function target(
  ctx: Context,
  hMem: number,
  nPages: number,
  pageOff: number,
): { first: number; fixed: boolean } | string {
  const block = blockOfHandle(ctx, hMem, ctx.vm);
  if (block < 0) return 'invalid memory handle';
  const kind = blockWord(ctx.l, block, BK.kind);
  if (kind !== BlockKind.ALLOCATION) return 'invalid memory handle';
  if (!Number.isInteger(nPages) || nPages <= 0) return 'invalid page count';
  if (
    !Number.isInteger(pageOff) ||
    pageOff < 0 ||
    pageOff + nPages > blockWord(ctx.l, block, BK.pageCount)
  ) {
    return 'PageOff + nPages greater than the block size';
  }
  const fixed = (blockWord(ctx.l, block, BK.flags) & PageFixed) !== 0;
  return { first: blockWord(ctx.l, block, BK.basePage) + pageOff, fixed };
}

export function ifDPTooEarly(ctx: Context, flags: number): boolean {
  return (
    (flags & PageLockedIfDP) !== 0 &&
    Atomics.load(ctx.l.header, H.phase) < ControlMessage.Init_Complete
  );
}
