/**
 * Blocks that map frames they do not own — global aliases (_LinPageLock PAGEMAPGLOBAL),
 * _MapPhysToLinear aliases, DPMI 0800h mappings: reserving their linear pages, writing their
 * PTEs, and removing them. The frames' owners (or device memory) stay where they are.
 */
import { fail } from '../assert.js';
import {
  BLOCK_FREE,
  BLOCK_LIVE,
  blockState,
  blockWord,
  createBlock,
  destroyBlock,
  type BlockFields,
} from '../blocks.js';
import type { Context } from '../context.js';
import { BK, LOCK_BLOCKS } from '../layout.js';
import { type ArenaValue, releaseLinear, reserveLinear } from '../linear.js';
import { clearPte, ensureTable, mapPage, pteIndex } from '../page_table.js';
import { lockRange, unlockRange } from './service.js';

/** Reserves `pageCount` linear pages in `arena` and makes the block; undefined if either fails. */
export function reserveMapping(
  ctx: Context,
  arena: ArenaValue,
  spaceVm: number,
  fields: Omit<BlockFields, 'basePage'>,
): { block: number; base: number } | undefined {
  const l = ctx.l;
  if (!(fields.pageCount > 0)) fail('reserveMapping: no pages asked for', fields.pageCount);
  ctx.locker.acquire(LOCK_BLOCKS);
  const base = reserveLinear(l, arena, spaceVm, fields.pageCount);
  const block = base < 0 ? -1 : createBlock(l, withBase(fields, base));
  if (base >= 0 && block < 0) releaseLinear(l, spaceVm, base, fields.pageCount);
  if (!(block < 0 || blockState(l, block) === BLOCK_LIVE)) fail('reserveMapping: block not live');
  ctx.locker.release(LOCK_BLOCKS);
  return block < 0 ? undefined : { block, base };
}

/** The fields with their base page, built in one shape (a spread would make a new one). */
const withBase = (f: Omit<BlockFields, 'basePage'>, basePage: number): BlockFields => ({
  basePage,
  pageCount: f.pageCount,
  pType: f.pType,
  vm: f.vm,
  flags: f.flags,
  kind: f.kind,
  space: f.space,
  physPage: f.physPage,
  actor: f.actor,
  perms: f.perms,
});

/**
 * Maps `physPages[i]` at page base+i of `vm` with `perms(physPage)`; false (the block half
 * mapped, to be removed) when a page table cannot be made. `extraLocks` names a range whose
 * locks must be held too (the pages an alias copies from).
 */
export function mapPhysPages(
  ctx: Context,
  vm: number,
  base: number,
  physPages: readonly number[] | ((i: number) => number),
  count: number,
  perms: (physPage: number) => number,
  extraLocks?: [number, number],
): boolean {
  const l = ctx.l;
  if (!(count > 0)) fail('mapPhysPages: empty range', base);
  const locks = lockRange(ctx, vm, base, count, extraLocks);
  let ok = true;
  let index = -1;
  for (let i = 0; i < count && ok; i++) {
    const phys = typeof physPages === 'function' ? physPages(i) : physPages[i]!;
    // the PTEs of one page table are consecutive words: look the table up once per table
    const page = base + i;
    index = i === 0 || (page & 0x3ff) === 0 ? ensureTable(l, ctx.locker, vm, page) : index + 1;
    ok = index >= 0;
    if (ok) mapPage(l, ctx.locker, index, phys, perms(phys));
  }
  // the one-lookup-per-table walk ends on the entry of the last page
  if (!(!ok || index === pteIndex(l, vm, base + count - 1))) fail('mapPhysPages: walk lost', base);
  unlockRange(ctx, locks);
  return ok;
}

/** Clears a mapping block's PTEs, releases its linear pages and the block. No lock held. */
export function removeMapping(ctx: Context, block: number, vm: number): void {
  const l = ctx.l;
  if (!(blockState(l, block) !== BLOCK_FREE)) fail('removeMapping: block already free', block);
  const base = blockWord(l, block, BK.basePage);
  const count = blockWord(l, block, BK.pageCount);
  const locks = lockRange(ctx, vm, base, count);
  let index = -1;
  for (let page = base; page < base + count; page++) {
    // once per page table, as in mapPhysPages; a missing table leaves nothing to clear
    if (page === base || (page & 0x3ff) === 0) index = pteIndex(l, vm, page);
    else if (index >= 0) index += 1;
    if (index >= 0) clearPte(l, ctx.locker, index);
  }
  unlockRange(ctx, locks);
  ctx.locker.acquire(LOCK_BLOCKS);
  releaseLinear(l, vm, base, count);
  destroyBlock(l, block);
  if (!(blockState(l, block) === BLOCK_FREE)) fail('removeMapping: block not freed', block);
  ctx.locker.release(LOCK_BLOCKS);
}
