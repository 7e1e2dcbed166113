/**
 * _PhysIntoV86(PhysPage, VM, VMLinPgNum, nPages, flags) — Win 3.1 DDK. Synchronous. Maps
 * physical pages PhysPage… contiguously at V86 pages VMLinPgNum… (10h–10Fh); each PTE gets
 * P_USER|P_PRES|P_WRITE, A and D clear, type PG_SYS. flags 0 (MAPV86_IGNOREWRAP accepted).
 * 0 for a bad VM handle, an illegal range (outside 10h–10Fh, or crossing the first V86 page),
 * a physical page with no memory behind it, or a page isolation forbids (v86_mapping.ts).
 */
import { MAPV86_IGNOREWRAP, PG_SYS, PG_TYPE_SHIFT } from '../constants.js';
import { fail } from '../assert.js';
import type { Context } from '../context.js';
import { fail0, type ServiceDef } from './service.js';
import { checkV86Range, hasMemory, isolationRefusal, mapV86 } from './v86_mapping.js';

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
  if (!(pages.length === nPages)) fail('_PhysIntoV86: pages short', nPages);
  mapV86(ctx, vm, vmLinPgNum, pages, PG_SYS << PG_TYPE_SHIFT);
  return 1;
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
