/**
 * Win95 sparse memory — Win95 DDK. Synchronous.
 * - _PageReserve(page, npages, flags): reserves linear pages in an arena (PR_PRIVATE,
 *   PR_SHARED, PR_SYSTEM) or at a given page number. flags: PR_FIXED, PR_4MEG (4 MiB
 *   aligned), PR_STATIC. Returns the linear address, or 0FFFFFFFFh.
 * - _PageCommit(page, npages, hpd, pagerdata, flags): gives frames to reserved pages of one
 *   _PageReserve block. hpd: PD_ZEROINIT, PD_NOINIT, PD_FIXEDZERO, PD_FIXED. flags:
 *   PC_WRITEABLE, PC_USER (the page's permissions), PC_FIXED, PC_LOCKED, PC_LOCKEDIFDP,
 *   PC_STATIC, PC_DIRTY, PC_INCR, PC_PRESENT. Nonzero, or 0 (a page already committed, not
 *   in one reserved block, no memory, bad hpd or flags, PC_USER in the system arena [I: ring 0
 *   only, DESIGN.md §3], a PR_STATIC block without PC_STATIC).
 * - _PageDecommit(page, npages, flags): frames back to the free list, pages stay reserved.
 *   flags 0, or PC_STATIC [I: the DDK page says "must be zero", but PR_STATIC "disallows
 *   commit, decommit and free operations unless a static flag is specified"]. Nonzero, or 0
 *   (a page not committed, not in one reserved block, fixed pages, locked pages [I: the DMA
 *   rule], a PR_STATIC block without PC_STATIC).
 */
import { blockWord, findBlockContaining } from '../blocks.js';
import {
  ERROR_DWORD,
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
  PG_SYS,
  PG_TYPE_SHIFT,
  PG_VM,
  PR_4MEG,
  PR_FIXED,
  PR_PRIVATE,
  PR_SHARED,
  PR_STATIC,
  PR_SYSTEM,
  P_USER,
  P_WRITE,
} from '../constants.js';
import type { Context } from '../context.js';
import { overlapsSystemArena } from '../isolation.js';
import { frameFixed, frameLockCount, lockFrame, setFrame, setFrameFixed } from '../frames.js';
import { BK, BlockKind, FrameState, LOCK_BLOCKS } from '../layout.js';
import { Arena, arenaOf, type ArenaValue } from '../linear.js';
import {
  commitPage,
  COMMON_SPACE,
  pteAt,
  pteIndex,
  spaceOf,
  SYSTEM_VM,
  unmapPage,
} from '../page_table.js';
import { pteFrame, ptePresent, pteReserved } from '../pte.js';
import { allocateBlock } from './alloc.js';
import {
  fail0,
  failDword,
  lockRange,
  returnFrames,
  takeFrames,
  unlockRange,
  validPageRange,
  type ServiceDef,
  hasReservedBits,
} from './service.js';

function arenaFor(page: number): ArenaValue | undefined {
  if (page === PR_PRIVATE) return Arena.private;
  if (page === PR_SHARED) return Arena.shared;
  if (page === PR_SYSTEM) return Arena.system;
  return undefined;
}

export function pageReserve(ctx: Context, page: number, npages: number, flags: number): number {
  if (hasReservedBits(flags, PR_FIXED | PR_4MEG | PR_STATIC)) {
    return ctx.refuse(ERROR_DWORD, 'reserved flag bits');
  }
  if (!Number.isInteger(npages) || npages <= 0 || npages > 0x80000)
    return ctx.refuse(ERROR_DWORD, 'invalid page count');
  const named = arenaFor(page);
  const arena = named ?? (validPageRange(page, npages) ? arenaOf(page) : undefined);
  if (arena === undefined) return ctx.refuse(ERROR_DWORD, 'invalid page or arena');
  const privateArena = arena === Arena.private;
  const system = arena === Arena.system;
  const made = allocateBlock(ctx, {
    pageCount: npages,
    arena,
    spaceVm: privateArena ? ctx.vm : SYSTEM_VM,
    space: privateArena ? ctx.vm : COMMON_SPACE,
    ownerVm: privateArena ? ctx.vm : -1,
    pType: system ? PG_SYS : PG_VM,
    perms: (system ? PG_SYS : PG_VM) << PG_TYPE_SHIFT,
    kind: BlockKind.RESERVED,
    flags,
    committed: false,
    zero: false,
    locked: false,
    fixed: false,
    ...((flags & PR_4MEG) !== 0 ? { alignLinearPages: 1024 } : {}),
    ...(named === undefined ? { atPage: page } : {}),
  });
  if (typeof made === 'string') return ctx.refuse(ERROR_DWORD, made);
  return made.base * 4096;
}

/** The reserved block holding all of [page, page+npages) in the caller's view, or a reason. */
function reservedBlockFor(ctx: Context, page: number, npages: number): number | string {
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
  const perms =
    ((flags & PC_WRITEABLE) !== 0 ? P_WRITE : 0) | ((flags & PC_USER) !== 0 ? P_USER : 0);
  const locks = lockRange(ctx, vm, page, npages);
  let ok = true;
  for (let p = page; p < page + npages; p++)
    ok &&= pteReserved(pteAt(ctx.l, pteIndex(ctx.l, vm, p)));
  for (let i = 0; i < npages && ok; i++) {
    const index = pteIndex(ctx.l, vm, page + i);
    const frame = frames[i]!;
    setFrame(ctx.l, frame, FrameState.BLOCK, block, page + i);
    if (fixed) setFrameFixed(ctx.l, frame, true);
    if ((flags & PC_LOCKED) !== 0) lockFrame(ctx.l, frame, page + i, spaceOf(page + i, vm));
    commitPage(ctx.l, ctx.locker, index, frame, perms); // the reserved page type stays
  }
  unlockRange(ctx, locks);
  if (!ok) {
    returnFrames(ctx, frames);
    return ctx.refuse(0, 'page already committed');
  }
  return 1;
}

export function pageDecommit(ctx: Context, page: number, npages: number, flags: number): number {
  if (flags !== 0 && flags !== PC_STATIC) return ctx.refuse(0, 'flags must be 0 or PC_STATIC');
  const block = reservedBlockFor(ctx, page, npages);
  if (typeof block === 'string') return ctx.refuse(0, block);
  if (staticWithoutFlag(ctx, block, flags)) return ctx.refuse(0, STATIC_REASON);
  const vm = blockWord(ctx.l, block, BK.space) < 0 ? SYSTEM_VM : ctx.vm;
  const locks = lockRange(ctx, vm, page, npages);
  let reason: string | undefined;
  for (let p = page; p < page + npages && reason === undefined; p++) {
    const pte = pteAt(ctx.l, pteIndex(ctx.l, vm, p));
    if (!ptePresent(pte)) reason = 'page not committed';
    else if (frameFixed(ctx.l, pteFrame(pte))) reason = 'page is fixed';
    else if (frameLockCount(ctx.l, pteFrame(pte)) > 0) reason = 'page is locked';
  }
  const frames: number[] = [];
  for (let p = page; p < page + npages && reason === undefined; p++) {
    frames.push(pteFrame(unmapPage(ctx.l, ctx.locker, pteIndex(ctx.l, vm, p))));
  }
  unlockRange(ctx, locks);
  if (reason !== undefined) return ctx.refuse(0, reason);
  returnFrames(ctx, frames);
  ctx.hooks.freeListGrew();
  return 1;
}

export const _PageReserve: ServiceDef = {
  name: '_PageReserve',
  ordinal: 0x11d,
  slot: -1,
  async: false,
  initOnly: false,
  failure: failDword,
  impl: pageReserve as ServiceDef['impl'],
};
export const _PageCommit: ServiceDef = {
  name: '_PageCommit',
  ordinal: 0x11e,
  slot: -1,
  async: false,
  initOnly: false,
  failure: fail0,
  impl: pageCommit as ServiceDef['impl'],
};
export const _PageDecommit: ServiceDef = {
  name: '_PageDecommit',
  ordinal: 0x11f,
  slot: -1,
  async: false,
  initOnly: false,
  failure: fail0,
  impl: pageDecommit as ServiceDef['impl'],
};
