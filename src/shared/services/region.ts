/**
 * Free physical regions: the table of region blocks and the checks the three region
 * services share (seeds 000 and 001). A region is made only during initialization by
 * _PageAllocate(PageMapFreePhysReg) and is never freed, so the table only grows and may be
 * read without a lock: an entry is published after its block is complete.
 */
import { BLOCK_LIVE, blockState, blockWord } from '../blocks.js';
import { ControlMessage } from '../constants.js';
import { fail } from '../assert.js';
import type { Context } from '../context.js';
import {
  AC,
  ACTOR_GOT_INIT_COMPLETE,
  BK,
  BlockKind,
  H,
  type Layout,
  LOCK_MISC,
  REGION_MAX,
} from '../layout.js';
import { systemPhase } from '../protocol.js';
import { actorLoad } from '../actor_record.js';

/** Whether `block` is a live free-physical-region block (what every region index names). */
export const isRegionBlock = (l: Layout, block: number): boolean =>
  blockState(l, block) === BLOCK_LIVE && blockWord(l, block, BK.kind) === BlockKind.REGION;

/** The region block whose pages contain `page`, or -1. */
export function regionOf(l: Layout, page: number): number {
  const count = Atomics.load(l.header, H.regionCount);
  for (let i = 0; i < count; i++) {
    const block = l.regions[i]!;
    const first = blockWord(l, block, BK.basePage);
    if (page >= first && page < first + blockWord(l, block, BK.pageCount)) return block;
  }
  return -1;
}

/**
 * regionOf for a caller, tried first against the region it used last. Regions are never
 * freed and their pages never change, so a page inside the hinted region is in it for good;
 * the hint saves the scan of the region table on the hot path (_XchgFreePhysReg).
 */
export function regionOfHinted(ctx: Context, page: number): number {
  const hint = ctx.regionHint;
  if (hint >= 0) {
    const first = blockWord(ctx.l, hint, BK.basePage);
    if (page >= first && page < first + blockWord(ctx.l, hint, BK.pageCount)) return hint;
  }
  const region = regionOf(ctx.l, page);
  if (region >= 0) ctx.regionHint = region;
  return region;
}

/**
 * Publishes a finished region block; false when the table is full. Under the misc lock:
 * regions are made during initialization, one device at a time in a run, but threads of a
 * program of its own (createKernel, attachKernel) may make two at once.
 */
export function addRegion(ctx: Context, block: number): boolean {
  const l = ctx.l;
  if (!(blockWord(l, block, BK.kind) === BlockKind.REGION))
    fail('addRegion: not a region block', block);
  ctx.locker.acquire(LOCK_MISC);
  const count = l.header[H.regionCount]!;
  const added = count < REGION_MAX;
  if (added) {
    l.regions[count] = block;
    Atomics.store(l.header, H.regionCount, count + 1);
  }
  ctx.locker.release(LOCK_MISC);
  if (added && !(regionOf(l, blockWord(l, block, BK.basePage)) === block))
    fail('addRegion: not found after');
  return added;
}

/**
 * Seed 000: "Virtual devices should not call this service until after the Sys_VM_Init
 * message or the Init_Complete message has been received."
 */
export function mayUseRegions(ctx: Context): boolean {
  const phase = systemPhase(ctx.l);
  if (phase >= ControlMessage.Sys_VM_Init) return true;
  const flags = actorLoad(ctx.l, ctx.actor, AC.flags);
  return (flags & ACTOR_GOT_INIT_COMPLETE) !== 0;
}

/**
 * The region that holds all of [first, first+count), or a reason it does not: the reasons
 * the DDK lists, "invalid linear page number" and "invalid range of pages".
 */
export function regionForRange(ctx: Context, first: number, count: number): number | string {
  if (!Number.isInteger(first) || first < 0 || first >= 0x100000)
    return 'invalid linear page number';
  const region = regionOfHinted(ctx, first);
  if (region < 0) return 'invalid linear page number';
  if (!Number.isInteger(count) || count <= 0) return 'invalid range of pages';
  const end = blockWord(ctx.l, region, BK.basePage) + blockWord(ctx.l, region, BK.pageCount);
  if (first + count > end) return 'invalid range of pages';
  return region;
}
