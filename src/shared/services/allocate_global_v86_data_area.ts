/**
 * _Allocate_Global_V86_Data_Area(nBytes, flags) — seed 003 and the Win 3.1 DDK. Init-only
 * (VMM_ICODE), synchronous. A block below the first V86 page, in every VM's V86 space, moving
 * the first V86 page up. Returns its ring-0 linear address, or 0. With GVDAInquire: the
 * largest size with that alignment that does not move the first V86 page (nBytes unused).
 * 0 for: reserved flag bits; two alignment flags; GVDAReclaim with GVDAInstance;
 * GVDAHighSysCritOK outside Sys_Critical_Init; a temporary block allocated; nBytes 0; no room
 * below the video memory; instance data after Init_Complete was processed.
 * GVDAReclaim (with GVDAPageAlign): the block's frames go to the free list and the nul page
 * is mapped in their place. Without it the pages stay mapped [I]. GVDAInstance and
 * GVDAOptInstance [I: the VMM chooses instance] add an instance item. An instance block is
 * instance data for its own bytes only: a global block stays "the same data ... available to
 * all virtual machines" (seed 003), and a VM's copy of instance data is a whole page, so an
 * instance block takes pages of its own: it starts on a page and the next block after the
 * page it ends in [I]. No UMBs exist, so GVDAHighSysCritOK allocates low memory;
 * GVDAForceLow is accepted.
 */
import {
  ControlMessage,
  GVDADWordAlign,
  GVDAForceLow,
  GVDAHighSysCritOK,
  GVDAInquire,
  GVDAInstance,
  GVDAOptInstance,
  GVDAPageAlign,
  GVDAParaAlign,
  GVDAReclaim,
  GVDAWordAlign,
  GVDAZeroInit,
} from '../constants.js';
import { fail } from '../assert.js';
import type { Context } from '../context.js';
import { pushFree } from '../frames.js';
import { H, LOCK_FREE_LIST, LOCK_MISC, PAGE_SIZE } from '../layout.js';
import { systemPhase } from '../protocol.js';
import { pteIndex, SYSTEM_VM, mapPage, pteAt, remapPage } from '../page_table.js';
import { pteFrame, ptePerms, ptePresent } from '../pte.js';
import { fail0, lockRange, unlockRange, type ServiceDef, hasReservedBits } from './service.js';
import {
  INSTANCE_TOO_LATE,
  instanceSnapshotTaken,
  V86_AREA_END,
  addInstanceRange,
  zeroLinear,
} from './v86_data_area.js';

const ALIGN_FLAGS = GVDAWordAlign | GVDADWordAlign | GVDAParaAlign | GVDAPageAlign;

const ALLOWED =
  ALIGN_FLAGS |
  GVDAInstance |
  GVDAZeroInit |
  GVDAReclaim |
  GVDAInquire |
  GVDAHighSysCritOK |
  GVDAOptInstance |
  GVDAForceLow;

function alignmentOf(flags: number): number {
  if (flags & (GVDAPageAlign | GVDAInstance | GVDAOptInstance)) return PAGE_SIZE;
  if (flags & GVDAParaAlign) return 16;
  if (flags & GVDADWordAlign) return 4;
  if (flags & GVDAWordAlign) return 2;
  return 1;
}

function checkGlobalFlags(ctx: Context, flags: number): string | undefined {
  if (hasReservedBits(flags, ALLOWED)) return 'reserved flag bits';
  const align = flags & ALIGN_FLAGS;
  if ((align & (align - 1)) !== 0) return 'alignment flags are mutually exclusive';
  if (flags & GVDAReclaim && flags & GVDAInstance)
    return 'GVDAReclaim and GVDAInstance are mutually exclusive';
  if (flags & GVDAHighSysCritOK && systemPhase(ctx.l) !== ControlMessage.Sys_Critical_Init) {
    return 'GVDAHighSysCritOK only while processing Sys_Critical_Init';
  }
  if (ctx.l.header[H.tempV86Address] !== 0) return 'a temporary V86 data block is allocated';
  if (flags & (GVDAInstance | GVDAOptInstance) && instanceSnapshotTaken(ctx))
    return INSTANCE_TOO_LATE;
  return undefined;
}

export function allocateGlobalV86DataArea(ctx: Context, nBytes: number, flags: number): number {
  const bad = checkGlobalFlags(ctx, flags);
  if (bad !== undefined) return ctx.refuse(0, bad);
  const l = ctx.l;
  const align = alignmentOf(flags);
  ctx.locker.acquire(LOCK_MISC);
  const aligned = Math.ceil(l.header[H.gvdaNextByte]! / align) * align;
  if (flags & GVDAInquire) {
    const room = Math.max(0, l.header[H.firstV86Page]! * PAGE_SIZE - aligned);
    ctx.locker.release(LOCK_MISC);
    return room;
  }
  const positive = Number.isInteger(nBytes) && nBytes > 0; // before any arithmetic on it
  if (!positive || aligned + nBytes > V86_AREA_END) {
    ctx.locker.release(LOCK_MISC);
    return ctx.refuse(0, positive ? 'insufficient global V86 memory' : 'nBytes must be positive');
  }
  const end = aligned + nBytes;
  const instance = (flags & (GVDAInstance | GVDAOptInstance)) !== 0;
  l.header[H.gvdaNextByte] = instance ? Math.ceil(end / PAGE_SIZE) * PAGE_SIZE : end;
  l.header[H.firstV86Page] = Math.max(l.header[H.firstV86Page]!, Math.ceil(end / PAGE_SIZE));
  if (instance) addInstanceRange(l, aligned, nBytes);
  // the block lies below the first V86 page, and the next block starts after it
  if (!(l.header[H.firstV86Page]! * PAGE_SIZE >= end)) fail('GVDA: block above the first V86 page');
  if (!(l.header[H.gvdaNextByte]! >= end)) fail('GVDA: next block overlaps this one', end);
  ctx.locker.release(LOCK_MISC);
  if (flags & GVDAZeroInit) zeroLinear(ctx, aligned, nBytes);
  if (flags & GVDAReclaim && flags & GVDAPageAlign) reclaimPages(ctx, aligned, end);
  return aligned;
}

/** GVDAReclaim: frames of the block's pages to the free list, the nul page in their place. */
function reclaimPages(ctx: Context, address: number, end: number): void {
  const l = ctx.l;
  if (!(address % PAGE_SIZE === 0)) fail('GVDAReclaim: block not page-aligned', address);
  if (!(end <= V86_AREA_END)) fail('GVDAReclaim: block past V86 RAM', end);
  const first = address / PAGE_SIZE;
  const count = Math.floor(end / PAGE_SIZE) - first;
  if (count <= 0) return;
  const nul = l.header[H.nulFrame]!;
  const locks = lockRange(ctx, SYSTEM_VM, first, count);
  ctx.locker.acquire(LOCK_FREE_LIST);
  for (let page = first; page < first + count; page++) {
    const index = pteIndex(l, SYSTEM_VM, page);
    const pte = pteAt(l, index);
    if (ptePresent(pte) && pteFrame(pte) !== nul) pushFree(l, pteFrame(pte));
    if (ptePresent(pte)) remapPage(l, ctx.locker, index, nul, ptePerms(pte));
    else mapPage(l, ctx.locker, index, nul, ptePerms(pte));
  }
  ctx.locker.release(LOCK_FREE_LIST);
  unlockRange(ctx, locks);
}

export const _Allocate_Global_V86_Data_Area: ServiceDef = {
  name: '_Allocate_Global_V86_Data_Area',
  ordinal: 0xa8,
  slot: -1,
  async: false,
  initOnly: true,
  failure: fail0,
  impl: allocateGlobalV86DataArea as ServiceDef['impl'],
};
