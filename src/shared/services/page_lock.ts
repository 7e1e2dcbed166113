/**
 * _PageLock(hMem, nPages, PageOff, flags) and _PageUnLock(hMem, nPages, PageOff, flags) —
 * Win 3.1 DDK. Synchronous. Lock counts are per page (per frame here): five locks need five
 * unlocks. Both return nonzero, or 0 for: an invalid handle; nPages = 0; PageOff + nPages
 * past the block; reserved flag bits; (unlock) a page that is not locked. All or nothing.
 * PageFixed blocks are always locked: both do nothing to them and succeed.
 * Lock flags: PageLockedIfDP (a no-op success: the pager is not the MS-DOS pager; not before
 * Init_Complete). Unlock flags: PageLockedIfDP, PageMarkPageOut (clear P_ACC at count 0).
 */
import { blockWord } from '../blocks.js';
import { ControlMessage, PageFixed, PageLockedIfDP, PageMarkPageOut } from '../constants.js';
import type { Context } from '../context.js';
import { BK, BlockKind, H } from '../layout.js';
import { SYSTEM_VM } from '../page_table.js';
import { lockPages, unlockPages } from './lin_page_lock.js';
import { blockOfHandle, fail0, type ServiceDef, hasReservedBits } from './service.js';

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
  return (
    (flags & PageLockedIfDP) !== 0 &&
    Atomics.load(ctx.l.header, H.phase) < ControlMessage.Init_Complete
  );
}

export function pageLock(
  ctx: Context,
  hMem: number,
  nPages: number,
  pageOff: number,
  flags: number,
): number {
  if (hasReservedBits(flags, PageLockedIfDP)) return ctx.refuse(0, 'reserved flag bits');
  if (ifDPTooEarly(ctx, flags))
    return ctx.refuse(0, 'PageLockedIfDP not allowed before Init_Complete');
  const t = target(ctx, hMem, nPages, pageOff);
  if (typeof t === 'string') return ctx.refuse(0, t);
  if (t.fixed || (flags & PageLockedIfDP) !== 0) return 1;
  const reason = lockPages(ctx, SYSTEM_VM, t.first, nPages, false);
  return reason === undefined ? 1 : ctx.refuse(0, reason);
}

export function pageUnLock(
  ctx: Context,
  hMem: number,
  nPages: number,
  pageOff: number,
  flags: number,
): number {
  if (hasReservedBits(flags, PageLockedIfDP | PageMarkPageOut)) {
    return ctx.refuse(0, 'reserved flag bits');
  }
  if (ifDPTooEarly(ctx, flags))
    return ctx.refuse(0, 'PageLockedIfDP not allowed before Init_Complete');
  const t = target(ctx, hMem, nPages, pageOff);
  if (typeof t === 'string') return ctx.refuse(0, t);
  if (t.fixed || (flags & PageLockedIfDP) !== 0) return 1;
  const reason = unlockPages(ctx, SYSTEM_VM, t.first, nPages, (flags & PageMarkPageOut) !== 0);
  return reason === undefined ? 1 : ctx.refuse(0, reason);
}

export const _PageLock: ServiceDef = {
  name: '_PageLock',
  ordinal: 0x56,
  slot: -1,
  async: false,
  initOnly: false,
  failure: fail0,
  impl: pageLock as ServiceDef['impl'],
};
export const _PageUnLock: ServiceDef = {
  name: '_PageUnLock',
  ordinal: 0x57,
  slot: -1,
  async: false,
  initOnly: false,
  failure: fail0,
  impl: pageUnLock as ServiceDef['impl'],
};
