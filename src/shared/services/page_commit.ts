/**
 * _PageCommit(page, npages, hpd, pagerdata, flags) — Win95 DDK. Synchronous. Gives frames to
 * reserved pages of one _PageReserve block. hpd: PD_ZEROINIT, PD_NOINIT, PD_FIXEDZERO,
 * PD_FIXED. flags: PC_WRITEABLE, PC_USER (the page's permissions), PC_FIXED, PC_LOCKED,
 * PC_LOCKEDIFDP, PC_STATIC, PC_DIRTY, PC_INCR, PC_PRESENT. Nonzero, or 0 (a page already
 * committed, not in one reserved block, no memory, bad hpd or flags, PC_USER in the system
 * arena [I: ring 0 only, DESIGN.md §3], a PR_STATIC block without PC_STATIC). The page type
 * stays the one the reservation chose.
 */
import { fail } from '../assert.js';
import { blockWord } from '../blocks.js';
import {
  PC_DIRTY,
  PC_FIXED,
  PC_INCR,
  PC_LOCKED,
  PC_LOCKEDIFDP,
  PC_PRESENT,
  PC_STATIC,
  PC_USER,
  PC_WRITEABLE,
  PD_FIXED,
  PD_FIXEDZERO,
  PD_NOINIT,
  PD_ZEROINIT,
  P_USER,
  P_WRITE,
} from '../constants.js';
import type { Context } from '../context.js';
import { overlapsSystemArena } from '../isolation.js';
import { frameOwner, lockFrame, setFrame, setFrameFixed } from '../frames.js';
import { BK, FrameState } from '../layout.js';
import { commitPage, pteAt, pteIndex, spaceOf, SYSTEM_VM } from '../page_table.js';
import { ptePresent, pteReserved } from '../pte.js';
import {
  fail0,
  lockRange,
  returnFrames,
  takeFrames,
  unlockRange,
  type ServiceDef,
  hasReservedBits,
} from './service.js';
import { reservedBlockFor, STATIC_REASON, staticWithoutFlag } from './reserved_block.js';

const COMMIT_FLAGS =
  PC_FIXED |
  PC_LOCKED |
  PC_LOCKEDIFDP |
  PC_WRITEABLE |
  PC_USER |
  PC_STATIC |
  PC_DIRTY |
  PC_INCR |
  PC_PRESENT;

export function pageCommit(
  ctx: Context,
  page: number,
  npages: number,
  hpd: number,
  _pagerdata: number,
  flags: number,
): number {
  if (![PD_ZEROINIT, PD_NOINIT, PD_FIXEDZERO, PD_FIXED].includes(hpd))
    return ctx.refuse(0, 'invalid pager handle');
  if (hasReservedBits(flags, COMMIT_FLAGS)) return ctx.refuse(0, 'reserved flag bits');
  const block = reservedBlockFor(ctx, page, npages);
  if (typeof block === 'string') return ctx.refuse(0, block);
  if (staticWithoutFlag(ctx, block, flags)) return ctx.refuse(0, STATIC_REASON);
  if ((flags & PC_USER) !== 0 && overlapsSystemArena(page, npages))
    return ctx.refuse(0, 'PC_USER in the system arena (ring 0 only)');
  const vm = blockWord(ctx.l, block, BK.space) < 0 ? SYSTEM_VM : ctx.vm;
  const fixed = (flags & PC_FIXED) !== 0 || hpd === PD_FIXED || hpd === PD_FIXEDZERO;
  const frames = takeFrames(
    ctx,
    npages,
    FrameState.BLOCK,
    block,
    hpd === PD_ZEROINIT || hpd === PD_FIXEDZERO,
  );
  if (frames === undefined) return ctx.refuse(0, 'insufficient memory');
  if (!(frames.length === npages)) fail('_PageCommit: frames short', npages);
  const perms =
    ((flags & PC_WRITEABLE) !== 0 ? P_WRITE : 0) | ((flags & PC_USER) !== 0 ? P_USER : 0);
  const ok = commitFrames(ctx, vm, block, page, frames, {
    perms,
    fixed,
    locked: (flags & PC_LOCKED) !== 0,
  });
  if (!ok) {
    returnFrames(ctx, frames);
    return ctx.refuse(0, 'page already committed');
  }
  return 1;
}

/**
 * Gives `frames` to the pages from `page` of reserved `block`, all or none: false (nothing
 * changed) when a page is committed already.
 */
function commitFrames(
  ctx: Context,
  vm: number,
  block: number,
  page: number,
  frames: readonly number[],
  how: { perms: number; fixed: boolean; locked: boolean },
): boolean {
  const l = ctx.l;
  const locks = lockRange(ctx, vm, page, frames.length);
  let ok = true;
  for (let p = page; p < page + frames.length; p++)
    ok &&= pteReserved(pteAt(l, pteIndex(l, vm, p)));
  for (let i = 0; i < frames.length && ok; i++) {
    const frame = frames[i]!;
    // takeFrames gave it to the block; no one else knows it yet
    if (!(frameOwner(l, frame) === block)) fail('_PageCommit: frame not the block', frame);
    setFrame(l, frame, FrameState.BLOCK, block, page + i);
    if (how.fixed) setFrameFixed(l, frame, true);
    if (how.locked) lockFrame(l, frame, page + i, spaceOf(page + i, vm));
    commitPage(l, ctx.locker, pteIndex(l, vm, page + i), frame, how.perms); // type stays
  }
  if (!(!ok || ptePresent(pteAt(l, pteIndex(l, vm, page)))))
    fail('_PageCommit: not committed', page);
  unlockRange(ctx, locks);
  return ok;
}

export const _PageCommit: ServiceDef = {
  name: '_PageCommit',
  ordinal: 0x11e,
  slot: -1,
  async: false,
  initOnly: false,
  failure: fail0,
  impl: pageCommit as ServiceDef['impl'],
};
