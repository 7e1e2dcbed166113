/**
 * _LinPageLock(HLinPgNum, nPages, flags) and _LinPageUnLock(HLinPgNum, nPages, flags) —
 * Win 3.1 and Win95 DDK. Synchronous. Pages are named by linear page number, in the current
 * VM's view; every page must be committed (present here).
 * Lock flags: PAGELOCKEDIFDP (a no-op: the pager is not the MS-DOS pager), PAGEMAPGLOBAL
 * (also make a global alias in the system arena; EAX is its byte address [I, reference
 * §7]), PAGEMARKDIRTY (set D on the pages). PAGELOCKEDIFDP and PAGEMAPGLOBAL exclude each
 * other. Without PAGEMAPGLOBAL EAX is 1.
 * Unlock flags: PAGELOCKEDIFDP, PageMarkPageOut (clear P_ACC when a count reaches 0),
 * PAGEMAPGLOBAL (HLinPgNum and nPages name the alias, which is deleted [I: the page number
 * of the address _LinPageLock returned]).
 * Both return 0 for: an invalid address range; a page not committed; (unlock) a page that
 * is not locked; reserved flag bits. All or nothing.
 * The DMA rule (seed 002): a locked page keeps its frame until unlocked; the checker
 * verifies it. Pages without a RAM frame of their own (device memory, the nul page) never
 * move: like PageFixed blocks they are always locked [I], so both calls do nothing to them
 * and succeed (reference §2.4).
 */
import { BLOCK_LIVE, blockState, blockWord, findBlock, listedBlocks } from '../blocks.js';
import {
  P_ACC,
  P_DIRTY,
  PAGELOCKEDIFDP,
  PAGEMAPGLOBAL,
  PAGEMARKDIRTY,
  PageMarkPageOut,
  PG_SYS,
  PG_TYPE_SHIFT,
  P_PCD,
  P_WRITE,
} from '../constants.js';
import type { Context } from '../context.js';
import {
  frameLockCount,
  frameOwner,
  frameState,
  isRamFrame,
  lockFrame,
  unlockFrame,
} from '../frames.js';
import { BK, BlockKind, FrameState, H, type Layout, LOCK_BLOCKS } from '../layout.js';
import { Arena } from '../linear.js';
import {
  clearPteBits,
  COMMON_SPACE,
  frameWhere,
  pteAt,
  pteIndex,
  setPteBits,
  spaceOf,
  SYSTEM_VM,
} from '../page_table.js';
import { pteFrame, ptePresent } from '../pte.js';
import { mapPhysPages, removeMapping, reserveMapping } from './mapping.js';
import {
  claimLiveBlock,
  fail0,
  lockRange,
  unlockRange,
  validPageRange,
  type ServiceDef,
  hasReservedBits,
} from './service.js';

const lockable = (ctx: Context, frame: number): boolean => {
  if (!isRamFrame(ctx.l, frame)) return false;
  const state = frameState(ctx.l, frame);
  return state === FrameState.BLOCK || state === FrameState.REGION;
};

/**
 * Where a lockable frame lives: its page in the block that owns it, in that block's space. A
 * lock is recorded there, not at the page the caller named: a VM's view of a global V86 page,
 * a V86 mapping or a global alias may go (the VM destroyed) while the frame stays locked.
 */
function homeOf(l: Layout, frame: number, page: number, space: number): [number, number] {
  const where = frameWhere(l, frame);
  if (where < 0) return [page, space];
  return [where, blockWord(l, frameOwner(l, frame), BK.space)];
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
  let reason: string | undefined;
  for (let page = first; page < first + count && reason === undefined; page++) {
    const index = pteIndex(l, vm, page);
    if (index < 0 || !ptePresent(pteAt(l, index)))
      reason = 'invalid address range: page not committed';
  }
  for (let page = first; page < first + count && reason === undefined; page++) {
    const index = pteIndex(l, vm, page);
    const frame = pteFrame(pteAt(l, index));
    if (lockable(ctx, frame)) lockFrame(l, frame, ...homeOf(l, frame, page, spaceOf(page, vm)));
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
  let reason: string | undefined;
  for (let page = first; page < first + count && reason === undefined; page++) {
    const index = pteIndex(l, vm, page);
    const pte = index < 0 ? 0 : pteAt(l, index);
    if (!ptePresent(pte)) reason = 'invalid address range: page not committed';
    else if (lockable(ctx, pteFrame(pte)) && frameLockCount(l, pteFrame(pte)) <= 0)
      reason = 'pages are not locked';
  }
  for (let page = first; page < first + count && reason === undefined; page++) {
    const index = pteIndex(l, vm, page);
    const frame = pteFrame(pteAt(l, index));
    if (!lockable(ctx, frame)) continue;
    unlockFrame(l, frame);
    if (markPageOut && frameLockCount(l, frame) === 0) clearPteBits(l, ctx.locker, index, P_ACC);
  }
  unlockRange(ctx, locks);
  return reason;
}

export function linPageLock(
  ctx: Context,
  hLinPgNum: number,
  nPages: number,
  flags: number,
): number {
  if (hasReservedBits(flags, PAGELOCKEDIFDP | PAGEMAPGLOBAL | PAGEMARKDIRTY)) {
    return ctx.refuse(0, 'reserved flag bits');
  }
  if ((flags & PAGELOCKEDIFDP) !== 0 && (flags & PAGEMAPGLOBAL) !== 0) {
    return ctx.refuse(0, 'PAGEMAPGLOBAL cannot be combined with PAGELOCKEDIFDP');
  }
  if (!validPageRange(hLinPgNum, nPages)) return ctx.refuse(0, 'invalid address range');
  if ((flags & PAGELOCKEDIFDP) !== 0) return 1;
  const reason = lockPages(ctx, ctx.vm, hLinPgNum, nPages, (flags & PAGEMARKDIRTY) !== 0);
  if (reason !== undefined) return ctx.refuse(0, reason);
  if ((flags & PAGEMAPGLOBAL) === 0) return 1;
  const alias = makeGlobalAlias(ctx, hLinPgNum, nPages);
  if (alias < 0) {
    unlockPages(ctx, ctx.vm, hLinPgNum, nPages, false);
    return ctx.refuse(0, 'insufficient memory for the global alias');
  }
  return alias * 4096;
}

/** Maps the frames of [first, first+count) again in the system arena; the alias page or -1. */
function makeGlobalAlias(ctx: Context, first: number, count: number): number {
  const l = ctx.l;
  const perms = P_WRITE | (PG_SYS << PG_TYPE_SHIFT);
  const made = reserveMapping(ctx, Arena.system, SYSTEM_VM, {
    pageCount: count,
    pType: PG_SYS,
    vm: spaceOf(first, ctx.vm),
    flags: PAGEMAPGLOBAL,
    kind: BlockKind.GLOBAL_ALIAS,
    space: COMMON_SPACE,
    physPage: first,
    actor: ctx.actor,
    perms,
  });
  if (made === undefined) return -1;
  Atomics.add(l.header, H.aliasCount, 1);
  // The source pages' locks are held while their frames are read: they cannot move meanwhile.
  const source = (i: number): number => pteFrame(pteAt(l, pteIndex(l, ctx.vm, first + i)));
  // Device memory behind the pages (a VGA window, a frame buffer) is mapped uncached, as always.
  const permsOf = (frame: number): number => (isRamFrame(l, frame) ? perms : perms | P_PCD);
  if (!mapPhysPages(ctx, SYSTEM_VM, made.base, source, count, permsOf, [first, count])) {
    deleteAlias(ctx, made.block);
    return -1;
  }
  return made.base;
}

/**
 * Deletes the global aliases of any page of [first, first+count) in `space`: called before
 * their frames are freed, so no alias outlives them. Caller holds no lock.
 */
export function dropAliasesOf(ctx: Context, space: number, first: number, count: number): void {
  const l = ctx.l;
  if (Atomics.load(l.header, H.aliasCount) === 0) return; // the common case: no alias at all
  const doomed: number[] = [];
  ctx.locker.acquire(LOCK_BLOCKS);
  for (const block of listedBlocks(l, BlockKind.GLOBAL_ALIAS)) {
    if (blockState(l, block) !== BLOCK_LIVE || blockWord(l, block, BK.vm) !== space) continue;
    const source = blockWord(l, block, BK.physPage);
    if (source < first + count && first < source + blockWord(l, block, BK.pageCount)) {
      claimLiveBlock(ctx, block); // claimed here, so that an unlock of it cannot delete it too
      doomed.push(block);
    }
  }
  ctx.locker.release(LOCK_BLOCKS);
  for (const block of doomed) deleteAlias(ctx, block);
}

function deleteAlias(ctx: Context, block: number): void {
  removeMapping(ctx, block, SYSTEM_VM);
  Atomics.sub(ctx.l.header, H.aliasCount, 1);
}

export function linPageUnLock(
  ctx: Context,
  hLinPgNum: number,
  nPages: number,
  flags: number,
): number {
  if (hasReservedBits(flags, PAGELOCKEDIFDP | PAGEMAPGLOBAL | PageMarkPageOut)) {
    return ctx.refuse(0, 'reserved flag bits');
  }
  if (!validPageRange(hLinPgNum, nPages)) return ctx.refuse(0, 'invalid address range');
  if ((flags & PAGELOCKEDIFDP) !== 0) return 1;
  const global = (flags & PAGEMAPGLOBAL) !== 0;
  let alias = -1;
  if (global) {
    ctx.locker.acquire(LOCK_BLOCKS);
    alias = findBlock(ctx.l, COMMON_SPACE, hLinPgNum);
    const valid =
      alias >= 0 &&
      blockState(ctx.l, alias) === BLOCK_LIVE &&
      blockWord(ctx.l, alias, BK.kind) === BlockKind.GLOBAL_ALIAS &&
      blockWord(ctx.l, alias, BK.pageCount) === nPages;
    ctx.locker.release(LOCK_BLOCKS);
    if (!valid) return ctx.refuse(0, 'not a global alias made by _LinPageLock');
  }
  const reason = unlockPages(
    ctx,
    global ? SYSTEM_VM : ctx.vm,
    hLinPgNum,
    nPages,
    (flags & PageMarkPageOut) !== 0,
  );
  if (reason !== undefined) return ctx.refuse(0, reason);
  if (global) {
    // The alias may have gone meanwhile, with the block it copied: then there is nothing to do.
    ctx.locker.acquire(LOCK_BLOCKS);
    const live =
      findBlock(ctx.l, COMMON_SPACE, hLinPgNum) === alias &&
      blockState(ctx.l, alias) === BLOCK_LIVE &&
      blockWord(ctx.l, alias, BK.kind) === BlockKind.GLOBAL_ALIAS;
    if (live) claimLiveBlock(ctx, alias);
    ctx.locker.release(LOCK_BLOCKS);
    if (live) deleteAlias(ctx, alias);
  }
  return 1;
}

export const _LinPageLock: ServiceDef = {
  name: '_LinPageLock',
  ordinal: 0x63,
  slot: -1,
  async: false,
  initOnly: false,
  failure: fail0,
  impl: linPageLock as ServiceDef['impl'],
};
export const _LinPageUnLock: ServiceDef = {
  name: '_LinPageUnLock',
  ordinal: 0x64,
  slot: -1,
  async: false,
  initOnly: false,
  failure: fail0,
  impl: linPageUnLock as ServiceDef['impl'],
};
