/**
 * What _PageLock and _PageUnLock share: the pages of a handle they name, and the
 * PageLockedIfDP phase rule. No DDK service lives here; the lock counts are in lock_pages.ts.
 * PageFixed blocks are always locked: both services do nothing to them and succeed.
 */
import { blockWord } from '../blocks.js';
import { ControlMessage, PageFixed, PageLockedIfDP } from '../constants.js';
import type { Context } from '../context.js';
import { BK, BlockKind } from '../layout.js';
import { systemPhase } from '../protocol.js';
import { blockOfHandle, hasReservedBits } from './service.js';
import { fail } from '../assert.js';

function target(
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

function ifDPTooEarly(ctx: Context, flags: number): boolean {
  return (flags & PageLockedIfDP) !== 0 && systemPhase(ctx.l) < ControlMessage.Init_Complete;
}

/**
 * The checks _PageLock and _PageUnLock share, in order: the first page of the range to lock
 * or unlock, or the service's result already (0 refused; 1 for PageLockedIfDP and for a
 * PageFixed block, which are no-op successes).
 */
export function pagesToLock(
  ctx: Context,
  hMem: number,
  nPages: number,
  pageOff: number,
  flags: number,
  allowed: number,
): { first: number } | number {
  if (hasReservedBits(flags, allowed)) return ctx.refuse(0, 'reserved flag bits');
  if (ifDPTooEarly(ctx, flags))
    return ctx.refuse(0, 'PageLockedIfDP not allowed before Init_Complete');
  const t = target(ctx, hMem, nPages, pageOff);
  if (typeof t === 'string') return ctx.refuse(0, t);
  if (t.fixed || (flags & PageLockedIfDP) !== 0) return 1;
  if (!(t.first >= 0 && nPages > 0)) fail('pagesToLock: empty range after the checks', t.first);
  return { first: t.first };
}
