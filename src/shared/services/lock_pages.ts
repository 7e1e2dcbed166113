/**
 * Lock counts of the frames behind a range of linear pages: the locking under _LinPageLock,
 * _LinPageUnLock, _PageLock, _PageUnLock and DPMI 0600h/0601h. No DDK service lives here.
 * The DMA rule (seed 002): a locked page keeps its frame until unlocked; the checker
 * verifies it. Pages without a RAM frame of their own (device memory, the nul page) never
 * move: like PageFixed blocks they are always locked [I], so locking does nothing to them and
 * succeeds (reference §2.4).
 */
import { fail } from '../assert.js';
import { blockWord } from '../blocks.js';
import { P_ACC, P_DIRTY } from '../constants.js';
import type { Context } from '../context.js';
import {
  frameLockCount,
  frameOwner,
  frameState,
  isRamFrame,
  lockFrame,
  unlockFrame,
  frameWhere,
} from '../frames.js';
import { BK, FrameState, type Layout } from '../layout.js';
import { clearPteBits, pteAt, pteIndex, setPteBits, spaceLockOf, spaceOf } from '../page_table.js';
import { pteFrame, ptePresent } from '../pte.js';
import { lockRange, unlockRange } from './service.js';

const lockable = (ctx: Context, frame: number): boolean => {
  if (!isRamFrame(ctx.l, frame)) return false;
  const state = frameState(ctx.l, frame);
  return state === FrameState.BLOCK || state === FrameState.REGION;
};

/**
 * Locks a lockable frame where it lives: its page in the block that owns it, in that block's
 * space, not at the page the caller named: a VM's view of a global V86 page,
 * a V86 mapping or a global alias may go (the VM destroyed) while the frame stays locked.
 */
function lockAtHome(l: Layout, frame: number, page: number, space: number): void {
  const where = frameWhere(l, frame);
  if (where < 0) lockFrame(l, frame, page, space);
  else lockFrame(l, frame, where, blockWord(l, frameOwner(l, frame), BK.space));
}

/** Why a page of the range cannot be locked or unlocked, or undefined. Caller holds its locks. */
function rangeRefusal(
  ctx: Context,
  vm: number,
  first: number,
  count: number,
  unlocking: boolean,
): string | undefined {
  const l = ctx.l;
  if (!ctx.locker.holding(spaceLockOf(first, vm))) fail('lock_pages: range lock not held', first);
  for (let page = first; page < first + count; page++) {
    const index = pteIndex(l, vm, page);
    const pte = index < 0 ? 0 : pteAt(l, index);
    if (!ptePresent(pte)) return 'invalid address range: page not committed';
    const frame = pteFrame(pte);
    if (unlocking && lockable(ctx, frame) && frameLockCount(l, frame) <= 0)
      return 'pages are not locked';
  }
  return undefined;
}

/** Adds a lock to each page of the range; a reason when a page is not committed. */
export function lockPages(
  ctx: Context,
  vm: number,
  first: number,
  count: number,
  markDirty: boolean,
): string | undefined {
  const l = ctx.l;
  const locks = lockRange(ctx, vm, first, count);
  const reason = rangeRefusal(ctx, vm, first, count, false);
  for (let page = first; page < first + count && reason === undefined; page++) {
    const index = pteIndex(l, vm, page);
    const frame = pteFrame(pteAt(l, index));
    if (lockable(ctx, frame)) {
      lockAtHome(l, frame, page, spaceOf(page, vm));
      if (!(frameLockCount(l, frame) > 0)) fail('lockPages: frame not locked after', frame);
    }
    if (markDirty) setPteBits(l, ctx.locker, index, P_DIRTY);
  }
  unlockRange(ctx, locks);
  return reason;
}

/** Takes a lock off each page of the range; a reason (and no change) when one is not locked. */
export function unlockPages(
  ctx: Context,
  vm: number,
  first: number,
  count: number,
  markPageOut: boolean,
): string | undefined {
  const l = ctx.l;
  const locks = lockRange(ctx, vm, first, count);
  const reason = rangeRefusal(ctx, vm, first, count, true);
  for (let page = first; page < first + count && reason === undefined; page++) {
    const index = pteIndex(l, vm, page);
    const frame = pteFrame(pteAt(l, index));
    if (!lockable(ctx, frame)) continue;
    unlockFrame(l, frame);
    if (!(frameLockCount(l, frame) >= 0)) fail('unlockPages: negative lock count', frame);
    if (markPageOut && frameLockCount(l, frame) === 0) clearPteBits(l, ctx.locker, index, P_ACC);
  }
  unlockRange(ctx, locks);
  return reason;
}
