/**
 * _PageDecommit(page, npages, flags) — Win95 DDK. Synchronous. Frames back to the free list,
 * pages stay reserved. flags 0, or PC_STATIC [I: the DDK page says "must be zero", but
 * PR_STATIC "disallows commit, decommit and free operations unless a static flag is
 * specified"]. Nonzero, or 0 (a page not committed, not in one reserved block, fixed pages,
 * locked pages [I: the DMA rule], a PR_STATIC block without PC_STATIC).
 */
import { fail } from '../assert.js';
import { blockWord } from '../blocks.js';
import { PC_STATIC } from '../constants.js';
import type { Context } from '../context.js';
import { frameFixed, frameLockCount, frameOwner } from '../frames.js';
import { BK } from '../layout.js';
import { pteAt, pteIndex, SYSTEM_VM, unmapPage } from '../page_table.js';
import { pteFrame, ptePresent } from '../pte.js';
import { fail0, lockRange, returnFrames, unlockRange, type ServiceDef } from './service.js';
import { reservedBlockFor, STATIC_REASON, staticWithoutFlag } from './reserved_block.js';

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
    const frame = pteFrame(unmapPage(ctx.l, ctx.locker, pteIndex(ctx.l, vm, p)));
    // a committed page of a reserved block holds a frame the block owns
    if (!(frameOwner(ctx.l, frame) === block)) fail("_PageDecommit: frame not the block's", frame);
    frames.push(frame);
  }
  unlockRange(ctx, locks);
  if (reason !== undefined) return ctx.refuse(0, reason);
  if (!(frames.length === npages)) fail('_PageDecommit: frames short', npages);
  returnFrames(ctx, frames);
  ctx.hooks.freeListGrew();
  return 1;
}

export const _PageDecommit: ServiceDef = {
  name: '_PageDecommit',
  ordinal: 0x11f,
  slot: -1,
  async: false,
  initOnly: false,
  failure: fail0,
  impl: pageDecommit as ServiceDef['impl'],
};
