/**
 * _MapIntoV86(hMem, VM, VMLinPgNum, nPages, PageOff, flags) — Win 3.1 DDK. Synchronous. Maps
 * pages PageOff… of a block at V86 pages VMLinPgNum… (10h–10Fh); the type is copied from the
 * block. The nul page handle maps the nul page at every page. flags: PageDEBUGNulFault,
 * MAPV86_IGNOREWRAP. 0 for a bad handle or VM, an illegal range, PageOff + nPages past the
 * block ("size discrepancy"), a block page not present, or a page isolation forbids.
 */
import { blockWord } from '../blocks.js';
import { MAPV86_IGNOREWRAP, PageDEBUGNulFault, PG_TYPE_SHIFT } from '../constants.js';
import { fail } from '../assert.js';
import type { Context } from '../context.js';
import { BK, BlockKind, H } from '../layout.js';
import { readPte, SYSTEM_VM } from '../page_table.js';
import { pteFrame, ptePresent } from '../pte.js';
import { blockOfHandle, fail0, hasReservedBits, type ServiceDef } from './service.js';
import { checkV86Range, isolationRefusal, mapV86 } from './v86_mapping.js';

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
  if (!(pages.length === nPages)) fail('_MapIntoV86: pages short', nPages);
  mapV86(ctx, vm, vmLinPgNum, pages, blockWord(l, block, BK.pType) << PG_TYPE_SHIFT);
  return 1;
}

export const _MapIntoV86: ServiceDef = {
  name: '_MapIntoV86',
  ordinal: 0x5d,
  slot: -1,
  async: false,
  initOnly: false,
  failure: fail0,
  impl: mapIntoV86 as ServiceDef['impl'],
};
