/**
 * Making and freeing memory blocks whose pages own frames: the machinery under
 * _PageAllocate, _PageReAllocate, _PageFree, _PageCommit and DPMI 0501h/0502h. Each step
 * takes its locks in rank order: block table (reserve linear pages), free list (frames),
 * then the space locks of the pages to write the PTEs.
 */
import { fail } from '../assert.js';
import {
  BLOCK_DYING,
  BLOCK_FREE,
  BLOCK_LIVE,
  blockState,
  blockWord,
  createBlock,
  destroyBlock,
  setBlockWord,
} from '../blocks.js';
import type { Context } from '../context.js';
import {
  findContiguousFree,
  freeCount,
  frameOwner,
  frameState,
  isRamFrame,
  lockFrame,
  removeFree,
  setFrame,
  setFrameFixed,
  zeroFrame,
} from '../frames.js';
import { BK, type BlockKindValue, FrameState, LOCK_BLOCKS, LOCK_FREE_LIST } from '../layout.js';
import {
  arenaOf,
  type ArenaValue,
  releaseLinear,
  reserveLinear,
  reserveLinearAt,
} from '../linear.js';
import { clearPte, ensureTable, mapPage, pteIndex, reservePage } from '../page_table.js';
import { pteFrame, ptePresent } from '../pte.js';
import { dropAliasesOf } from './global_alias.js';
import {
  claimLiveBlock,
  lockRange,
  ownsFrame,
  returnFrames,
  takeFrames,
  unlockRange,
} from './service.js';

export interface PhysConstraint {
  alignPages: number;
  minPage: number;
  maxPage: number;
  contiguous: boolean;
}

export interface BlockRequest {
  pageCount: number;
  arena: ArenaValue;
  /** The VM whose private arena holds the block (private blocks), else the system VM. */
  spaceVm: number;
  space: number;
  ownerVm: number;
  pType: number;
  perms: number;
  kind: BlockKindValue;
  flags: number;
  /** How many of the pages get frames now (the rest stay reserved). */
  committed: boolean;
  zero: boolean;
  locked: boolean;
  fixed: boolean;
  phys?: PhysConstraint;
  alignLinearPages?: number;
  /** Reserve exactly these linear pages (the _PageReserve page-number form). */
  atPage?: number;
}

/** Makes a block; its index and first page, or the DDK reason it could not. */
export function allocateBlock(
  ctx: Context,
  r: BlockRequest,
): { block: number; base: number } | string {
  const l = ctx.l;
  if (!(r.pageCount > 0)) fail('allocateBlock: no pages asked for', r.pageCount);
  ctx.locker.acquire(LOCK_BLOCKS);
  const base =
    r.atPage === undefined
      ? reserveLinear(l, r.arena, r.spaceVm, r.pageCount, r.alignLinearPages ?? 1)
      : reserveLinearAt(l, r.spaceVm, r.atPage, r.pageCount)
        ? r.atPage
        : -1;
  const block =
    base < 0
      ? -1
      : createBlock(l, {
          basePage: base,
          pageCount: r.pageCount,
          pType: r.pType,
          vm: r.ownerVm,
          flags: r.flags,
          kind: r.kind,
          space: r.space,
          physPage: 0,
          actor: ctx.actor,
          perms: r.perms,
        });
  if (base >= 0 && block < 0) releaseLinear(l, r.spaceVm, base, r.pageCount);
  ctx.locker.release(LOCK_BLOCKS);
  if (base < 0) return 'insufficient linear address space';
  if (block < 0) return 'no free memory handle';
  const frames = r.committed ? takeFramesWithPressure(ctx, r, block) : [];
  if (frames === undefined) {
    discardBlock(ctx, block, r.spaceVm);
    return 'insufficient memory';
  }
  const mapped = mapBlockPages(ctx, r, block, base, frames);
  if (!mapped) {
    returnFrames(ctx, frames);
    discardBlock(ctx, block, r.spaceVm);
    return 'insufficient memory for page tables';
  }
  // the block lies in the arena asked for, whole (a reservation never crosses arenas)
  if (!(arenaOf(base) === r.arena)) fail('allocateBlock: block outside its arena', base);
  if (!(arenaOf(base + r.pageCount - 1) === r.arena))
    fail('allocateBlock: block crosses arenas', base);
  return { block, base };
}

function takeFramesWithPressure(
  ctx: Context,
  r: BlockRequest,
  block: number,
): number[] | undefined {
  const take = (): number[] | undefined =>
    r.phys === undefined
      ? takeFrames(ctx, r.pageCount, FrameState.BLOCK, block, r.zero)
      : takeConstrained(ctx, r.pageCount, block, r.phys, r.zero);
  const first = take();
  const frames =
    first ??
    (ctx.hooks.pagesNeeded(Math.max(r.pageCount - freeCount(ctx.l), 1)) ? take() : undefined);
  if (!(frames === undefined || frames.length === r.pageCount)) fail('allocateBlock: frames short');
  return frames;
}

/** Frames inside a physical window with alignment (PageUseAlign), contiguous if asked. */
function takeConstrained(
  ctx: Context,
  count: number,
  block: number,
  c: PhysConstraint,
  zero: boolean,
): number[] | undefined {
  const l = ctx.l;
  ctx.locker.acquire(LOCK_FREE_LIST);
  const frames: number[] = [];
  const first = findContiguousFree(l, c.contiguous ? count : 1, c.alignPages, c.minPage, c.maxPage);
  if (first >= 0) {
    for (let i = 0; i < (c.contiguous ? count : 1); i++) frames.push(first + i);
    for (
      let f = c.minPage;
      frames.length < count && f < Math.min(c.maxPage, l.options.ramPages);
      f++
    ) {
      if (f !== first && isRamFrame(l, f) && frameState(l, f) === FrameState.FREE) frames.push(f);
    }
  }
  const ok = frames.length === count;
  if (ok) {
    // findContiguousFree's promise: aligned, and (PageContig) one run of frames
    if (!(first % c.alignPages === 0)) fail('takeConstrained: first frame not aligned', first);
    if (!(!c.contiguous || frames[count - 1] === first + count - 1))
      fail('takeConstrained: not a run');
    for (const frame of frames) {
      if (!(frameState(l, frame) === FrameState.FREE))
        fail('takeConstrained: frame not free', frame);
      removeFree(l, frame);
      setFrame(l, frame, FrameState.BLOCK, block, -1);
    }
  }
  ctx.locker.release(LOCK_FREE_LIST);
  if (ok && zero) for (const frame of frames) zeroFrame(l, frame);
  return ok ? frames : undefined;
}

function mapBlockPages(
  ctx: Context,
  r: BlockRequest,
  block: number,
  base: number,
  frames: number[],
): boolean {
  const l = ctx.l;
  if (!(frames.length === 0 || frames.length === r.pageCount)) fail('mapBlockPages: frames short');
  const locks = lockRange(ctx, r.spaceVm, base, r.pageCount);
  let ok = true;
  for (let i = 0; i < r.pageCount && ok; i++) {
    const page = base + i;
    const index = ensureTable(l, ctx.locker, r.spaceVm, page);
    if (index < 0) {
      ok = false;
      break;
    }
    const frame = frames[i];
    // the frames were taken for this block and no one else knows them yet
    if (!(frame === undefined || frameOwner(l, frame) === block))
      fail('mapBlockPages: frame', frame);
    if (frame === undefined) {
      reservePage(l, ctx.locker, index, r.perms);
      continue;
    }
    setFrame(l, frame, FrameState.BLOCK, block, page);
    if (r.fixed) setFrameFixed(l, frame, true);
    if (r.locked) lockFrame(l, frame, page, r.space);
    mapPage(l, ctx.locker, index, frame, r.perms);
  }
  if (!ok) clearPtes(ctx, r.spaceVm, base, r.pageCount);
  unlockRange(ctx, locks);
  if (ok) setBlockWord(l, block, BK.committed, frames.length);
  return ok;
}

function clearPtes(ctx: Context, vm: number, base: number, count: number): void {
  if (!(count > 0)) fail('clearPtes: empty range', base);
  for (let page = base; page < base + count; page++) {
    const index = pteIndex(ctx.l, vm, page);
    if (index >= 0) clearPte(ctx.l, ctx.locker, index);
  }
}

function discardBlock(ctx: Context, block: number, spaceVm: number): void {
  ctx.locker.acquire(LOCK_BLOCKS);
  if (!(blockState(ctx.l, block) !== BLOCK_FREE)) fail('discardBlock: block already free', block);
  releaseLinear(
    ctx.l,
    spaceVm,
    blockWord(ctx.l, block, BK.basePage),
    blockWord(ctx.l, block, BK.pageCount),
  );
  destroyBlock(ctx.l, block);
  if (!(blockState(ctx.l, block) === BLOCK_FREE)) fail('discardBlock: block not freed', block);
  ctx.locker.release(LOCK_BLOCKS);
}

/** Claims a live block for destruction; false if someone else got there first. */
export function claimBlock(ctx: Context, block: number): boolean {
  ctx.locker.acquire(LOCK_BLOCKS);
  const live = blockState(ctx.l, block) === BLOCK_LIVE;
  if (live) claimLiveBlock(ctx, block);
  if (!(!live || blockState(ctx.l, block) === BLOCK_DYING)) fail('claimBlock: not claimed', block);
  ctx.locker.release(LOCK_BLOCKS);
  return live;
}

/**
 * Frees a claimed block: its PTEs cleared, the frames it owns back on the free list, its
 * linear pages released. Returns how many frames were freed.
 */
export function freeClaimedBlock(ctx: Context, block: number, spaceVm: number): number {
  const l = ctx.l;
  if (!(blockState(l, block) === BLOCK_DYING)) fail('freeClaimedBlock: block not claimed');
  const base = blockWord(l, block, BK.basePage);
  const count = blockWord(l, block, BK.pageCount);
  dropAliasesOf(ctx, blockWord(l, block, BK.space), base, count);
  const frames: number[] = [];
  const locks = lockRange(ctx, spaceVm, base, count);
  for (let page = base; page < base + count; page++) {
    const index = pteIndex(l, spaceVm, page);
    if (index < 0) continue;
    const pte = clearPte(l, ctx.locker, index);
    if (ptePresent(pte) && ownsFrame(ctx, block, pteFrame(pte), FrameState.BLOCK))
      frames.push(pteFrame(pte));
  }
  unlockRange(ctx, locks);
  if (!(frames.length <= count)) fail('freeClaimedBlock: more frames than pages', block);
  returnFrames(ctx, frames);
  discardBlock(ctx, block, spaceVm);
  return frames.length;
}
