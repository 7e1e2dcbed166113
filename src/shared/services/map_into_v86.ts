/**
 * Mapping into a VM's V86 space — Win 3.1 DDK. Synchronous.
 * - _PhysIntoV86(PhysPage, VM, VMLinPgNum, nPages, flags): maps physical pages PhysPage…
 *   contiguously at V86 pages VMLinPgNum… (10h–10Fh); each PTE gets P_USER|P_PRES|P_WRITE,
 *   A and D clear, type PG_SYS. flags 0 (MAPV86_IGNOREWRAP accepted). 0 for a bad VM handle,
 *   an illegal range (outside 10h–10Fh, or crossing the first V86 page), a physical page
 *   with no memory behind it.
 * - _MapIntoV86(hMem, VM, VMLinPgNum, nPages, PageOff, flags): maps pages PageOff… of a
 *   block; the type is copied from the block. The nul page handle maps the nul page at every
 *   page. flags: PageDEBUGNulFault, MAPV86_IGNOREWRAP. 0 for a bad handle or VM, an illegal
 *   range, PageOff + nPages past the block ("size discrepancy").
 * - _LinMapIntoV86(HLinPgNum, VM, VMLinPgNum, nPages, flags): maps the frames behind ring-0
 *   linear pages. Returns { eax: nonzero, edx: V86 page } — HLinPgNum itself when ≤ 100h
 *   (already V86: nothing mapped), else VMLinPgNum. Pages of a free physical region are
 *   mapped as by _PhysIntoV86 (type PG_SYS). Failure { 0, 0 }.
 * A V86 page whose own frame is replaced loses it: the checker reports such a frame.
 * Isolation (DESIGN.md §3): each PTE is ring-3 accessible, so none of the three maps a page
 * table, the instance snapshot or a frame private to another VM (isolation.ts); such a call
 * returns the failure value [I: "callers must not map pages that … belong to another device"].
 */
import { blockWord } from '../blocks.js';
import {
  MAPV86_IGNOREWRAP,
  PageDEBUGNulFault,
  PG_SYS,
  PG_TYPE_SHIFT,
  P_PCD,
  P_USER,
  P_WRITE,
} from '../constants.js';
import type { Context } from '../context.js';
import { isRamFrame } from '../frames.js';
import { BK, BlockKind, H, type Layout } from '../layout.js';
import { userMappingRefusal } from '../isolation.js';
import { vmOfHandle } from '../machine.js';
import { pteIndex, readPte, replacePage, SYSTEM_VM } from '../page_table.js';
import { pteFrame, ptePresent, pteTypeBits } from '../pte.js';
import { regionOf } from './region.js';
import {
  blockOfHandle,
  fail0,
  failPair,
  hasReservedBits,
  isDword,
  lockRange,
  unlockRange,
  type ServiceDef,
  type TwoRegisters,
} from './service.js';

const V86_FIRST_MAPPABLE = 0x10;
const V86_END = 0x110;

/** The VM id for a V86 mapping, or a reason the range is illegal. */
function checkV86Range(
  ctx: Context,
  vmHandle: number,
  page: number,
  count: number,
): number | string {
  const vm = isDword(vmHandle) ? vmOfHandle(ctx.l, vmHandle) : -1;
  if (vm < 0) return 'invalid VM handle';
  if (!Number.isInteger(page) || !Number.isInteger(count) || count <= 0) return 'illegal range';
  if (page < V86_FIRST_MAPPABLE || page + count > V86_END)
    return 'illegal range: outside V86 pages 10h-10Fh';
  const first = Atomics.load(ctx.l.header, H.firstV86Page);
  if (page < first && page + count > first) return 'illegal range: crosses the first V86 page';
  return vm;
}

const hasMemory = (l: Layout, physPage: number): boolean => l.physicalBytes(physPage) !== undefined;

/** Why one of `physPages` must not be mapped at ring 3 in `vm`, or undefined. */
function isolationRefusal(l: Layout, physPages: number[], vm: number): string | undefined {
  for (const phys of physPages) {
    const why = userMappingRefusal(l, phys, vm);
    if (why !== undefined) return `physical page ${phys.toString(16).toUpperCase()}h is ${why}`;
  }
  return undefined;
}

/** Writes V86 PTEs for `physPages` (one per page). Caller checked the range. */
function mapV86(
  ctx: Context,
  vm: number,
  page: number,
  physPages: number[],
  typeBits: number,
): void {
  const l = ctx.l;
  const locks = lockRange(ctx, vm, page, physPages.length);
  for (let i = 0; i < physPages.length; i++) {
    const phys = physPages[i]!;
    const cache = isRamFrame(l, phys) ? 0 : P_PCD;
    const perms = P_USER | P_WRITE | cache | typeBits;
    replacePage(l, ctx.locker, pteIndex(l, vm, page + i), phys, perms);
  }
  unlockRange(ctx, locks);
}

export function physIntoV86(
  ctx: Context,
  physPage: number,
  vmHandle: number,
  vmLinPgNum: number,
  nPages: number,
  flags: number,
): number {
  if (flags !== 0 && flags !== MAPV86_IGNOREWRAP) return ctx.refuse(0, 'reserved flag bits');
  const vm = checkV86Range(ctx, vmHandle, vmLinPgNum, nPages);
  if (typeof vm === 'string') return ctx.refuse(0, vm);
  const pages: number[] = [];
  for (let i = 0; i < nPages && Number.isInteger(physPage); i++) pages.push(physPage + i);
  if (!Number.isInteger(physPage) || !pages.every((p) => hasMemory(ctx.l, p))) {
    return ctx.refuse(0, 'physical page holds no memory');
  }
  const why = isolationRefusal(ctx.l, pages, vm);
  if (why !== undefined) return ctx.refuse(0, why);
  mapV86(ctx, vm, vmLinPgNum, pages, PG_SYS << PG_TYPE_SHIFT);
  return 1;
}

export function mapIntoV86(
  ctx: Context,
  hMem: number,
  vmHandle: number,
  vmLinPgNum: number,
  nPages: number,
  pageOff: number,
  flags: number,
): number {
  if (hasReservedBits(flags, PageDEBUGNulFault | MAPV86_IGNOREWRAP))
    return ctx.refuse(0, 'reserved flag bits');
  const block = blockOfHandle(ctx, hMem, ctx.vm);
  const kind = block < 0 ? -1 : blockWord(ctx.l, block, BK.kind);
  if (kind !== BlockKind.ALLOCATION && kind !== BlockKind.NUL)
    return ctx.refuse(0, 'invalid memory handle');
  const vm = checkV86Range(ctx, vmHandle, vmLinPgNum, nPages);
  if (typeof vm === 'string') return ctx.refuse(0, vm);
  const l = ctx.l;
  const nul = kind === BlockKind.NUL;
  if (
    !Number.isInteger(pageOff) ||
    pageOff < 0 ||
    (!nul && pageOff + nPages > blockWord(l, block, BK.pageCount))
  ) {
    return ctx.refuse(0, 'size discrepancy: PageOff + nPages past the block');
  }
  const base = blockWord(l, block, BK.basePage);
  const space = blockWord(l, block, BK.space) < 0 ? SYSTEM_VM : blockWord(l, block, BK.space);
  const pages: number[] = [];
  for (let i = 0; i < nPages; i++) {
    const pte = nul ? 0 : readPte(l, space, base + pageOff + i);
    if (!nul && !ptePresent(pte))
      return ctx.refuse(0, 'insufficient memory: block page not present');
    pages.push(nul ? l.header[H.nulFrame]! : pteFrame(pte));
  }
  const why = nul ? undefined : isolationRefusal(l, pages, vm);
  if (why !== undefined) return ctx.refuse(0, why);
  mapV86(ctx, vm, vmLinPgNum, pages, blockWord(l, block, BK.pType) << PG_TYPE_SHIFT);
  return 1;
}

export function linMapIntoV86(
  ctx: Context,
  hLinPgNum: number,
  vmHandle: number,
  vmLinPgNum: number,
  nPages: number,
  flags: number,
): TwoRegisters {
  if (flags !== 0 && flags !== MAPV86_IGNOREWRAP)
    return ctx.refuse(failPair(), 'reserved flag bits');
  if (!Number.isInteger(hLinPgNum) || hLinPgNum < 0 || hLinPgNum >= 0x100000) {
    return ctx.refuse(failPair(), 'invalid linear page number');
  }
  if (!isDword(vmHandle) || vmOfHandle(ctx.l, vmHandle) < 0)
    return ctx.refuse(failPair(), 'invalid VM handle');
  if (hLinPgNum <= 0x100) return { eax: 1, edx: hLinPgNum };
  const vm = checkV86Range(ctx, vmHandle, vmLinPgNum, nPages);
  if (typeof vm === 'string') return ctx.refuse(failPair(), vm);
  const l = ctx.l;
  const pages: number[] = [];
  let typeBits = PG_SYS << PG_TYPE_SHIFT;
  const locks = lockRange(ctx, ctx.vm, hLinPgNum, nPages);
  for (let i = 0; i < nPages && pages.length === i; i++) {
    const pte = readPte(l, ctx.vm, hLinPgNum + i);
    if (ptePresent(pte)) pages.push(pteFrame(pte));
    if (i === 0 && regionOf(l, hLinPgNum) < 0) typeBits = pteTypeBits(pte);
  }
  unlockRange(ctx, locks);
  if (pages.length !== nPages) return ctx.refuse(failPair(), 'linear page not present');
  const why = isolationRefusal(l, pages, vm);
  if (why !== undefined) return ctx.refuse(failPair(), why);
  mapV86(ctx, vm, vmLinPgNum, pages, typeBits);
  return { eax: 1, edx: vmLinPgNum };
}

export const _PhysIntoV86: ServiceDef = {
  name: '_PhysIntoV86',
  ordinal: 0x5e,
  slot: -1,
  async: false,
  initOnly: false,
  failure: fail0,
  impl: physIntoV86 as ServiceDef['impl'],
};
export const _MapIntoV86: ServiceDef = {
  name: '_MapIntoV86',
  ordinal: 0x5d,
  slot: -1,
  async: false,
  initOnly: false,
  failure: fail0,
  impl: mapIntoV86 as ServiceDef['impl'],
};
export const _LinMapIntoV86: ServiceDef = {
  name: '_LinMapIntoV86',
  ordinal: 0x62,
  slot: -1,
  async: false,
  initOnly: false,
  failure: failPair,
  impl: linMapIntoV86 as ServiceDef['impl'],
};
