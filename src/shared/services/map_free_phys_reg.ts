/**
 * _MapFreePhysReg(LinPgNum, nPages, flags) — seed 000. Synchronous.
 * Maps pages from the free list to [LinPgNum, LinPgNum+nPages) of one free physical region.
 * flags: PageFixed only (fixed pages are locked for good and never given back).
 * Returns nonzero, or 0 for: invalid linear page number; invalid range of pages; part of the
 * range already present; insufficient pages on the free list; invalid use of PageFixed;
 * reserved flag bits; a device that has not yet received Init_Complete.
 * All or nothing [I]: on any failure nothing is mapped.
 * "Invalid use of PageFixed" [I]: only the device that created the region may fix pages in
 * it, since only it can promise never to unmap them.
 */
import { fail } from '../assert.js';
import { blockWord } from '../blocks.js';
import { PageFixed } from '../constants.js';
import type { Context } from '../context.js';
import { setFrame, setFrameFixed } from '../frames.js';
import { BK, FrameState } from '../layout.js';
import { commitPage, pteAt, pteIndex, SYSTEM_VM } from '../page_table.js';
import { ptePerms, pteReserved } from '../pte.js';
import { mayUseRegions, regionForRange, isRegionBlock } from './region.js';
import {
  fail0,
  lockRange,
  takeFrames,
  unlockRange,
  type ServiceDef,
  hasReservedBits,
} from './service.js';

export function mapFreePhysReg(
  ctx: Context,
  linPgNum: number,
  nPages: number,
  flags: number,
): number {
  if (hasReservedBits(flags, PageFixed)) return ctx.refuse(0, 'reserved flag bits');
  if (!mayUseRegions(ctx)) return ctx.refuse(0, 'device has not yet received Init_Complete');
  const region = regionForRange(ctx, linPgNum, nPages);
  if (typeof region === 'string') return ctx.refuse(0, region);
  const fixed = (flags & PageFixed) !== 0;
  if (fixed && blockWord(ctx.l, region, BK.actor) !== ctx.actor) {
    return ctx.refuse(0, 'invalid use of PageFixed');
  }
  if (!isRegionBlock(ctx.l, region)) fail('_MapFreePhysReg: not a live region block', region);
  const locks = lockRange(ctx, SYSTEM_VM, linPgNum, nPages);
  const reason = mapLocked(ctx, region, linPgNum, nPages, fixed);
  unlockRange(ctx, locks);
  return reason === undefined ? 1 : ctx.refuse(0, reason);
}

function mapLocked(
  ctx: Context,
  region: number,
  first: number,
  count: number,
  fixed: boolean,
): string | undefined {
  const l = ctx.l;
  for (let page = first; page < first + count; page++) {
    const index = pteIndex(l, SYSTEM_VM, page);
    if (!(index >= 0)) fail('_MapFreePhysReg: region page has no page table');
    if (!pteReserved(pteAt(l, index))) return 'part of the page range already present';
  }
  const frames = takeFrames(ctx, count, FrameState.REGION, region, false);
  if (frames === undefined) return 'insufficient pages on the free list';
  if (!(frames.length === count)) fail('_MapFreePhysReg: frames short', count);
  for (let i = 0; i < count; i++) {
    const page = first + i;
    const frame = frames[i]!;
    const index = pteIndex(l, SYSTEM_VM, page);
    setFrame(l, frame, FrameState.REGION, region, page);
    setFrameFixed(l, frame, fixed);
    // the region's permissions and type live in the reserved entry
    commitPage(l, ctx.locker, index, frame, ptePerms(pteAt(l, index)));
  }
  return undefined;
}

export const _MapFreePhysReg: ServiceDef = {
  name: '_MapFreePhysReg',
  ordinal: 0xd6,
  slot: -1,
  async: false,
  initOnly: false,
  failure: fail0,
  impl: mapFreePhysReg as ServiceDef['impl'],
};
