/**
 * _MapPhysToLinear(PhysAddr, nBytes, flags) — Win 3.1 and Win95 DDK. Synchronous.
 * Returns the ring-0 linear address of PhysAddr through an alias in the system arena, made
 * on demand and kept until shutdown (Win95); a later call whose range an existing alias
 * covers gets that alias. 0FFFFFFFFh when the range is not addressable (no memory behind a
 * page, nBytes 0, wrap past 4 GiB), flags ≠ 0, or the range touches RAM [I: the service is
 * "only for device memory"; a lasting alias of RAM would outlive the frames' owners].
 * The alias is mapped with PCD.
 */
import { BLOCK_LIVE, blockState, blockWord, listedBlocks } from '../blocks.js';
import { ERROR_DWORD, PG_SYS, PG_TYPE_SHIFT, P_PCD, P_WRITE } from '../constants.js';
import { fail } from '../assert.js';
import type { Context } from '../context.js';
import { isRamFrame } from '../frames.js';
import { BK, BlockKind, LOCK_BLOCKS, LOCK_MISC } from '../layout.js';
import { Arena, arenaOf } from '../linear.js';
import { COMMON_SPACE, SYSTEM_VM } from '../page_table.js';
import { mapPhysPages, removeMapping, reserveMapping } from './mapping.js';
import { failDword, isDword, type ServiceDef } from './service.js';

/** The page of a live _MapPhysToLinear alias that maps `firstPhys` onward, or -1. */
function findAlias(ctx: Context, firstPhys: number, count: number): number {
  const l = ctx.l;
  ctx.locker.acquire(LOCK_BLOCKS);
  let page = -1;
  for (const block of listedBlocks(l, BlockKind.PHYS_MAP)) {
    const phys = blockWord(l, block, BK.physPage);
    const covers =
      firstPhys >= phys && firstPhys + count <= phys + blockWord(l, block, BK.pageCount);
    if (covers && blockState(l, block) === BLOCK_LIVE) {
      page = blockWord(l, block, BK.basePage) + (firstPhys - phys);
      break;
    }
  }
  ctx.locker.release(LOCK_BLOCKS);
  return page;
}

function makeAlias(ctx: Context, firstPhys: number, count: number): number {
  // one alias per range: findAlias and makeAlias run together under the misc lock
  if (!ctx.locker.holding(LOCK_MISC)) fail('_MapPhysToLinear: misc lock not held', firstPhys);
  const perms = P_WRITE | P_PCD | (PG_SYS << PG_TYPE_SHIFT);
  const made = reserveMapping(ctx, Arena.system, SYSTEM_VM, {
    pageCount: count,
    pType: PG_SYS,
    vm: -1,
    flags: 0,
    kind: BlockKind.PHYS_MAP,
    space: COMMON_SPACE,
    physPage: firstPhys,
    actor: ctx.actor,
    perms,
  });
  if (made === undefined) return -1;
  if (
    !mapPhysPages(
      ctx,
      SYSTEM_VM,
      made.base,
      (i) => firstPhys + i,
      count,
      () => perms,
    )
  ) {
    removeMapping(ctx, made.block, SYSTEM_VM);
    return -1;
  }
  if (!(arenaOf(made.base) === Arena.system))
    fail('_MapPhysToLinear: alias outside the system arena');
  return made.base;
}

export function mapPhysToLinear(
  ctx: Context,
  physAddr: number,
  nBytes: number,
  flags: number,
): number {
  if (flags !== 0) return ctx.refuse(ERROR_DWORD, 'flags must be 0');
  if (
    !isDword(physAddr) ||
    !Number.isInteger(nBytes) ||
    nBytes <= 0 ||
    physAddr + nBytes > 0x100000000
  ) {
    return ctx.refuse(ERROR_DWORD, 'range not addressable');
  }
  const firstPhys = Math.floor(physAddr / 4096);
  const count = Math.floor((physAddr + nBytes - 1) / 4096) - firstPhys + 1;
  for (let p = firstPhys; p < firstPhys + count; p++) {
    if (isRamFrame(ctx.l, p)) return ctx.refuse(ERROR_DWORD, 'range is RAM: only device memory');
    if (ctx.l.physicalBytes(p) === undefined)
      return ctx.refuse(ERROR_DWORD, 'range not addressable: no memory there');
  }
  ctx.locker.acquire(LOCK_MISC); // one alias per range even when two threads ask at once
  let page = findAlias(ctx, firstPhys, count);
  if (page < 0) page = makeAlias(ctx, firstPhys, count);
  ctx.locker.release(LOCK_MISC);
  if (page < 0) return ctx.refuse(ERROR_DWORD, 'no linear space for the alias');
  if (!(arenaOf(page) === Arena.system))
    fail('_MapPhysToLinear: alias outside the system arena', page);
  return page * 4096 + (physAddr % 4096);
}

export const _MapPhysToLinear: ServiceDef = {
  name: '_MapPhysToLinear',
  ordinal: 0x6c,
  slot: -1,
  async: false,
  initOnly: false,
  failure: failDword,
  impl: mapPhysToLinear as ServiceDef['impl'],
};
