/**
 * _XchgFreePhysReg(LinPgNum, PhysAddr, flags) — seed 001. ASYNCHRONOUS: callable at
 * interrupt time, never blocks without bound, safe against every other service on every
 * other thread (it takes only the page-table lock of LinPgNum).
 * Puts PhysAddr into the PTE of LinPgNum (a page of a free physical region); PhysAddr 0 makes
 * the page not present. Returns the previous physical address if the page was present, 0 if
 * it was not, 0FFFFFFFFh on error: flags ≠ 0; LinPgNum not in a free physical region;
 * PhysAddr not page-aligned [I]; PhysAddr not a frame this caller holds [I: the seed's
 * chain only ever puts back an address an earlier call returned; any other frame would be
 * in two places at once]; a page mapped with PageFixed (the number of fixed pages cannot
 * change).
 * Frame accounting [I]: a frame taken out is HELD by the caller until it puts it back in a
 * region; the free list does not change. Only the frame and P change in the PTE; the
 * region's permission and type bits stay.
 */
import { ERROR_DWORD } from '../constants.js';
import type { Context } from '../context.js';
import { fail } from '../assert.js';
import { frameFixed, frameOwner, frameState, isRamFrame, setFrame } from '../frames.js';
import { FrameState } from '../layout.js';
import {
  mapPage,
  pteAt,
  pteIndex,
  remapPage,
  spaceLockOf,
  SYSTEM_VM,
  unmapPage,
} from '../page_table.js';
import { pteFrame, ptePresent } from '../pte.js';
import { regionOfHinted } from './region.js';
import { failDword, type ServiceDef } from './service.js';

/** Whether `frame` was taken out of a region by this caller and not yet put back. */
function heldBy(ctx: Context, frame: number): boolean {
  const l = ctx.l;
  return (
    isRamFrame(l, frame) &&
    frameState(l, frame) === FrameState.HELD &&
    frameOwner(l, frame) === ctx.actor
  );
}

export function xchgFreePhysReg(
  ctx: Context,
  linPgNum: number,
  physAddr: number,
  flags: number,
): number {
  const l = ctx.l;
  if (flags !== 0) return ctx.refuse(ERROR_DWORD, 'flags must be 0');
  if (!Number.isInteger(linPgNum) || linPgNum < 0 || linPgNum >= 0x100000) {
    return ctx.refuse(ERROR_DWORD, 'invalid linear page number');
  }
  const region = regionOfHinted(ctx, linPgNum);
  if (region < 0) return ctx.refuse(ERROR_DWORD, 'invalid linear page number');
  if (
    !Number.isInteger(physAddr) ||
    physAddr < 0 ||
    physAddr > 0xffffffff ||
    (physAddr & 0xfff) !== 0
  ) {
    return ctx.refuse(ERROR_DWORD, 'physical address not page-aligned');
  }
  const inFrame = physAddr >>> 12;
  if (physAddr !== 0 && !heldBy(ctx, inFrame)) {
    return ctx.refuse(ERROR_DWORD, 'physical address is not a frame this caller holds');
  }
  const lock = spaceLockOf(linPgNum, SYSTEM_VM);
  ctx.notePage(linPgNum);
  ctx.locker.acquire(lock);
  const index = pteIndex(l, SYSTEM_VM, linPgNum);
  const pte = pteAt(l, index);
  // A region page is always present (a frame of the region) or reserved (none): never free.
  if (!(pte !== 0)) fail('_XchgFreePhysReg: region page free', linPgNum);
  const present = ptePresent(pte);
  const outFrame = pteFrame(pte);
  if (present && frameFixed(l, outFrame)) {
    ctx.locker.release(lock);
    return ctx.refuse(ERROR_DWORD, 'page was mapped with PageFixed');
  }
  if (present) {
    // The out half: a frame of this region becomes HELD by the caller.
    if (!(frameState(l, outFrame) === FrameState.REGION))
      fail('Xchg: out frame not REGION', outFrame);
    if (!(frameOwner(l, outFrame) === region)) fail("Xchg: out frame not the region's", outFrame);
    setFrame(l, outFrame, FrameState.HELD, ctx.actor, linPgNum);
  }
  if (physAddr !== 0) {
    // The in half. heldBy(inFrame) was checked before the lock was taken; a HELD frame
    // changes only by its holder's hand, so its state alone is checked again here.
    if (!(frameState(l, inFrame) === FrameState.HELD)) fail('Xchg: in frame not HELD', inFrame);
    setFrame(l, inFrame, FrameState.REGION, region, linPgNum);
    if (present) remapPage(l, ctx.locker, index, inFrame, pte);
    else mapPage(l, ctx.locker, index, inFrame, pte);
  } else if (present) unmapPage(l, ctx.locker, index);
  ctx.locker.release(lock);
  return present ? outFrame * 4096 : 0;
}

export const _XchgFreePhysReg: ServiceDef = {
  name: '_XchgFreePhysReg',
  ordinal: 0xd8,
  slot: -1,
  async: true,
  initOnly: false,
  failure: failDword,
  impl: xchgFreePhysReg as ServiceDef['impl'],
};
