/**
 * Mapping into a VM's V86 space: what _PhysIntoV86, _MapIntoV86 and _LinMapIntoV86 share —
 * the legal range (V86 pages 10h–10Fh, not crossing the first V86 page), the isolation check
 * and writing the V86 PTEs. No DDK service lives here.
 * A V86 page whose own frame is replaced loses it: the checker reports such a frame.
 * Isolation (DESIGN.md §3): each PTE is ring-3 accessible, so none of the three maps a page
 * table, the instance snapshot or a frame private to another VM (isolation.ts); such a call
 * returns the failure value [I: "callers must not map pages that … belong to another device"].
 */
import { PG_TYPE, P_PCD, P_USER, P_WRITE } from '../constants.js';
import { fail } from '../assert.js';
import type { Context } from '../context.js';
import { isRamFrame } from '../frames.js';
import { H, type Layout } from '../layout.js';
import { userMappingRefusal } from '../isolation.js';
import { vmOfHandle } from '../machine.js';
import { pteIndex, replacePage } from '../page_table.js';
import { isDword, lockRange, unlockRange } from './service.js';

export const V86_FIRST_MAPPABLE = 0x10;

export const V86_END = 0x110;

/** The VM id for a V86 mapping, or a reason the range is illegal. */
export function checkV86Range(
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

export const hasMemory = (l: Layout, physPage: number): boolean =>
  l.physicalBytes(physPage) !== undefined;

/** Why one of `physPages` must not be mapped at ring 3 in `vm`, or undefined. */
export function isolationRefusal(l: Layout, physPages: number[], vm: number): string | undefined {
  for (const phys of physPages) {
    const why = userMappingRefusal(l, phys, vm);
    if (why !== undefined) return `physical page ${phys.toString(16).toUpperCase()}h is ${why}`;
  }
  return undefined;
}

/** Writes V86 PTEs for `physPages` (one per page). Caller checked the range. */
export function mapV86(
  ctx: Context,
  vm: number,
  page: number,
  physPages: number[],
  typeBits: number,
): void {
  const l = ctx.l;
  // checkV86Range's promise: a nonempty range of the mappable V86 pages
  if (!(physPages.length > 0 && page >= V86_FIRST_MAPPABLE)) fail('mapV86: bad range start', page);
  if (!(page + physPages.length <= V86_END)) fail('mapV86: range past the V86 pages', page);
  if (!((typeBits & ~PG_TYPE) === 0)) fail('mapV86: type bits hold other bits', typeBits);
  const locks = lockRange(ctx, vm, page, physPages.length);
  for (let i = 0; i < physPages.length; i++) {
    const phys = physPages[i]!;
    const cache = isRamFrame(l, phys) ? 0 : P_PCD;
    const perms = P_USER | P_WRITE | cache | typeBits;
    replacePage(l, ctx.locker, pteIndex(l, vm, page + i), phys, perms);
  }
  unlockRange(ctx, locks);
}
