/**
 * _UnmapFreePhysReg(LinPgNum, nPages, flags) — Win 3.1 DDK. Synchronous.
 * Unmaps [LinPgNum, LinPgNum+nPages) of a free physical region and returns the frames to
 * the free list; their contents are lost. flags must be 0.
 * Returns nonzero, or 0 for: invalid linear page number; invalid range; part of the range
 * already not present; pages mapped with PageFixed (they must never be unmapped); a device
 * that has not yet received Init_Complete; a locked page [I: unmapping it would move a page
 * while locked, against the DMA rule of seed 002]. All or nothing [I].
 * Afterwards the free list has grown: Request 0 goes to the callbacks.
 */
import { fail } from '../assert.js';
import type { Context } from '../context.js';
import { frameFixed, frameLockCount } from '../frames.js';
import { pteAt, pteIndex, SYSTEM_VM, unmapPage } from '../page_table.js';
import { pteFrame, ptePresent } from '../pte.js';
import { mayUseRegions, regionForRange, isRegionBlock } from './region.js';
import {
  fail0,
  lockRange,
  ownsFrame,
  returnFrames,
  unlockRange,
  type ServiceDef,
} from './service.js';
import { FrameState } from '../layout.js';

export function unmapFreePhysReg(
  ctx: Context,
  linPgNum: number,
  nPages: number,
  flags: number,
): number {
  if (flags !== 0) return ctx.refuse(0, 'reserved flag bits');
  if (!mayUseRegions(ctx)) return ctx.refuse(0, 'device has not yet received Init_Complete');
  const region = regionForRange(ctx, linPgNum, nPages);
  if (typeof region === 'string') return ctx.refuse(0, region);
  if (!isRegionBlock(ctx.l, region)) fail('_UnmapFreePhysReg: not a live region block', region);
  const locks = lockRange(ctx, SYSTEM_VM, linPgNum, nPages);
  const result = unmapLocked(ctx, region, linPgNum, nPages);
  unlockRange(ctx, locks);
  if (typeof result === 'string') return ctx.refuse(0, result);
  returnFrames(ctx, result);
  ctx.hooks.freeListGrew();
  return 1;
}

function unmapLocked(
  ctx: Context,
  region: number,
  first: number,
  count: number,
): number[] | string {
  const l = ctx.l;
  for (let page = first; page < first + count; page++) {
    const pte = pteAt(l, pteIndex(l, SYSTEM_VM, page));
    if (!ptePresent(pte)) return 'part of the range already not present';
    if (frameFixed(l, pteFrame(pte))) return 'pages mapped with PageFixed must not be unmapped';
    if (frameLockCount(l, pteFrame(pte)) > 0) return 'page is locked';
  }
  const frames: number[] = [];
  for (let page = first; page < first + count; page++) {
    const index = pteIndex(l, SYSTEM_VM, page);
    const frame = pteFrame(pteAt(l, index));
    if (!ownsFrame(ctx, region, frame, FrameState.REGION))
      fail("_UnmapFreePhysReg: frame not the region's");
    unmapPage(l, ctx.locker, index);
    frames.push(frame);
  }
  if (!(frames.length === count)) fail('_UnmapFreePhysReg: frames short', count);
  return frames;
}

export const _UnmapFreePhysReg: ServiceDef = {
  name: '_UnmapFreePhysReg',
  ordinal: 0xd7,
  slot: -1,
  async: false,
  initOnly: false,
  failure: fail0,
  impl: unmapFreePhysReg as ServiceDef['impl'],
};
