/**
 * What every service module exports, and the helpers services share: validating linear
 * ranges, taking the space locks of a range in rank order, taking frames from the free list.
 * No DDK service lives here.
 */
import { fail } from '../assert.js';
import {
  BLOCK_LIVE,
  blockState,
  blockWord,
  findBlock,
  addBlockRefs,
  markBlockDying,
} from '../blocks.js';
import type { Context } from '../context.js';
import {
  isRamFrame,
  popFree,
  pushFree,
  setFrame,
  zeroFrame,
  frameState,
  frameOwner,
  freeCountLocked,
} from '../frames.js';
import { BK, type FrameStateValue, LOCK_BLOCKS, LOCK_FREE_LIST, PAGE_SIZE } from '../layout.js';
import { isCommonPage, spaceLockOf, spaceOf } from '../page_table.js';

export interface ServiceDef {
  /** The DDK spelling: the name in the service table, in traces and in stats. */
  name: string;
  /** VMM service number (device 1), or the Int 31h function for DPMI. */
  ordinal: number;
  /** Index of this service's call counter in a Context (set by the service table). */
  slot: number;
  /** Asynchronous services may be called at interrupt time. */
  async: boolean;
  /** Init-only services (VMM_ICODE) fail outside initialization. */
  initOnly: boolean;
  /** A fresh copy of the failure result. */
  failure: () => unknown;
  impl: (ctx: Context, ...args: never[]) => unknown;
}

export interface TwoRegisters {
  eax: number;
  edx: number;
}

export const fail0 = (): number => 0;
export const failDword = (): number => 0xffffffff;
export const failPair = (): TwoRegisters => ({ eax: 0, edx: 0 });

export const LINEAR_PAGE_END = 0x100000;

/** True when [first, first+count) is a range of linear page numbers of the 4 GiB space. */
export function validPageRange(first: number, count: number): boolean {
  return (
    Number.isInteger(first) &&
    Number.isInteger(count) &&
    first >= 0 &&
    count > 0 &&
    first + count <= LINEAR_PAGE_END
  );
}

/** True when `flags` is not an integer or has a bit outside `allowed` (the DDK's "reserved"). */
export const hasReservedBits = (flags: number, allowed: number): boolean =>
  !Number.isInteger(flags) || (flags & ~allowed) !== 0;

/** True when `value` is a 32-bit unsigned integer (what a register can hold). */
export const isDword = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffffffff;

/**
 * Takes the space locks of [first, first+count) as `vm` sees it, in rank order. A range that
 * crosses from a private arena into the common ones takes the VM lock last (higher rank).
 * Returns the lock ids for unlockRange.
 */
export function lockRange(
  ctx: Context,
  vm: number,
  first: number,
  count: number,
  more?: [number, number],
): number[] {
  if (!(count > 0)) fail('lockRange: empty range', first);
  ctx.notePage(first);
  if (oneTable(first, count)) {
    const id = spaceLockOf(first, vm); // the common case: one page table, one lock
    if (more === undefined) {
      ctx.locker.acquire(id);
      return [id];
    }
    if (oneTable(more[0], more[1])) return lockTwo(ctx, id, spaceLockOf(more[0], vm));
  }
  const ids: number[] = [];
  addSpaceLocks(ids, vm, first, count);
  if (more !== undefined) addSpaceLocks(ids, vm, more[0], more[1]);
  if (ids.length > 1) ids.sort(byNumber);
  for (const id of ids) ctx.locker.acquire(id);
  if (!ids.includes(spaceLockOf(first, vm))) fail('lockRange: first page lock missing', first);
  return ids;
}

const byNumber = (a: number, b: number): number => a - b;

/** Whether [first, first+count) lies in one page table (one space lock). */
const oneTable = (first: number, count: number): boolean =>
  first >>> 10 === (first + count - 1) >>> 10;

/** Takes locks `a` and `b` (once, when the same) in rank order: two ranges of one table each. */
function lockTwo(ctx: Context, a: number, b: number): number[] {
  const ids = a === b ? [a] : a < b ? [a, b] : [b, a];
  for (const id of ids) ctx.locker.acquire(id);
  return ids;
}

/** Adds the lock of each page table [from, from+count) spans to `ids`, once each. */
function addSpaceLocks(ids: number[], vm: number, from: number, count: number): void {
  for (let page = from; page < from + count; page = (page | 0x3ff) + 1) {
    const id = spaceLockOf(page, vm);
    if (!ids.includes(id)) ids.push(id);
  }
}

export function unlockRange(ctx: Context, ids: number[]): void {
  if (!(ids.length > 0)) fail('unlockRange: no lock ids');
  for (let i = ids.length - 1; i >= 0; i--) ctx.locker.release(ids[i]!);
}

/**
 * Takes `count` frames off the free list into `state` for `owner`; undefined (and nothing
 * taken) when the list is short. Zero-fills them when `zero`.
 */
export function takeFrames(
  ctx: Context,
  count: number,
  state: FrameStateValue,
  owner: number,
  zero: boolean,
): number[] | undefined {
  const l = ctx.l;
  if (!(Number.isInteger(count) && count >= 0)) fail('takeFrames: bad count', count);
  ctx.locker.acquire(LOCK_FREE_LIST);
  if (freeCountLocked(l) < count) {
    ctx.locker.release(LOCK_FREE_LIST);
    return undefined;
  }
  const frames: number[] = [];
  for (let i = 0; i < count; i++) {
    const frame = popFree(l);
    if (!(frame >= 0)) fail('takeFrames: free list shorter than its count');
    setFrame(l, frame, state, owner, -1);
    frames.push(frame);
  }
  if (!(freeCountLocked(l) >= 0)) fail('takeFrames: free count below zero');
  ctx.locker.release(LOCK_FREE_LIST);
  if (zero) for (const frame of frames) zeroFrame(l, frame);
  return frames;
}

/** Puts frames back on the free list. */
export function returnFrames(ctx: Context, frames: readonly number[]): void {
  if (frames.length === 0) return;
  ctx.locker.acquire(LOCK_FREE_LIST);
  const before = freeCountLocked(ctx.l);
  for (const frame of frames) pushFree(ctx.l, frame);
  // under the free-list lock no one else moves the count
  if (!(freeCountLocked(ctx.l) === before + frames.length)) fail('returnFrames: free count off');
  ctx.locker.release(LOCK_FREE_LIST);
}

/** Whether `frame` is a RAM frame that `block` owns in `state`. */
export function ownsFrame(
  ctx: Context,
  block: number,
  frame: number,
  state: FrameStateValue,
): boolean {
  return (
    isRamFrame(ctx.l, frame) &&
    frameState(ctx.l, frame) === state &&
    frameOwner(ctx.l, frame) === block
  );
}

/** The live block whose handle (linear address) is `handle`, as `vm` sees it, or -1. */
export function blockOfHandle(ctx: Context, handle: number, vm: number): number {
  ctx.locker.acquire(LOCK_BLOCKS);
  const block = liveBlockOfHandle(ctx, handle, vm);
  ctx.locker.release(LOCK_BLOCKS);
  return block;
}

/** blockOfHandle for a caller that holds the block-table lock (and may claim the block). */
export function liveBlockOfHandle(ctx: Context, handle: number, vm: number): number {
  if (!ctx.locker.holding(LOCK_BLOCKS)) fail('liveBlockOfHandle: block-table lock not held');
  if (!isDword(handle) || handle % PAGE_SIZE !== 0) return -1;
  const page = handle >>> 12;
  const block = findBlock(ctx.l, spaceOf(page, vm), page);
  return block >= 0 && blockState(ctx.l, block) === BLOCK_LIVE ? block : -1;
}

/**
 * Marks live `block` dying: whoever marks it destroys it, and no one else can. Caller holds
 * the block-table lock. (A local helper: blocks.ts, helper B's, has no state setter yet.)
 */
export function claimLiveBlock(ctx: Context, block: number): void {
  if (!ctx.locker.holding(LOCK_BLOCKS)) fail('claimLiveBlock: block-table lock not held', block);
  markBlockDying(ctx.l, block);
}

/**
 * Adds `delta` (+1 or -1) to a live block's reference count (DPMI 0800h mappings reused);
 * a count never drops to 0 here: the last reference claims the block instead. Caller holds
 * the block-table lock.
 */
export function addBlockRef(ctx: Context, block: number, delta: 1 | -1): void {
  if (!ctx.locker.holding(LOCK_BLOCKS)) fail('addBlockRef: block-table lock not held', block);
  addBlockRefs(ctx.l, block, delta);
}

export const blockBase = (ctx: Context, block: number): number =>
  blockWord(ctx.l, block, BK.basePage);
export const blockPages = (ctx: Context, block: number): number =>
  blockWord(ctx.l, block, BK.pageCount);
export const blockKind = (ctx: Context, block: number): number => blockWord(ctx.l, block, BK.kind);

export { isCommonPage };
