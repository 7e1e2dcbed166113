/**
 * _LinMapIntoV86(HLinPgNum, VM, VMLinPgNum, nPages, flags) — Win95 DDK. Synchronous. Maps the
 * frames behind ring-0 linear pages into V86 pages VMLinPgNum…. Returns { eax: nonzero, edx:
 * V86 page } — HLinPgNum itself when ≤ 100h (already V86: nothing mapped), else VMLinPgNum.
 * Pages of a free physical region are mapped as by _PhysIntoV86 (type PG_SYS). Failure
 * { 0, 0 }: reserved flags, a bad page number or VM, an illegal range, a page not present, or
 * a page isolation forbids.
 */
import { MAPV86_IGNOREWRAP, PG_SYS, PG_TYPE_SHIFT } from '../constants.js';
import { fail } from '../assert.js';
import type { Context } from '../context.js';
import { vmOfHandle } from '../machine.js';
import { readPte } from '../page_table.js';
import { pteFrame, ptePresent, pteTypeBits } from '../pte.js';
import { regionOf } from './region.js';
import {
  failPair,
  isDword,
  lockRange,
  unlockRange,
  type ServiceDef,
  type TwoRegisters,
} from './service.js';
import { checkV86Range, isolationRefusal, mapV86 } from './v86_mapping.js';

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
  if (!(pages.length === nPages)) fail('_LinMapIntoV86: pages short', nPages);
  mapV86(ctx, vm, vmLinPgNum, pages, typeBits);
  return { eax: 1, edx: vmLinPgNum };
}

export const _LinMapIntoV86: ServiceDef = {
  name: '_LinMapIntoV86',
  ordinal: 0x62,
  slot: -1,
  async: false,
  initOnly: false,
  failure: failPair,
  impl: linMapIntoV86 as ServiceDef['impl'],
};
