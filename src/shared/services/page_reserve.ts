/**
 * _PageReserve(page, npages, flags) — Win95 DDK. Synchronous. Reserves linear pages in an
 * arena (PR_PRIVATE, PR_SHARED, PR_SYSTEM) or at a given page number. flags: PR_FIXED,
 * PR_4MEG (4 MiB aligned), PR_STATIC. Returns the linear address, or 0FFFFFFFFh (reserved flag
 * bits, a bad page count, page or arena, no linear space, no memory handle).
 */
import {
  ERROR_DWORD,
  PG_SYS,
  PG_TYPE_SHIFT,
  PG_VM,
  PR_4MEG,
  PR_FIXED,
  PR_PRIVATE,
  PR_SHARED,
  PR_STATIC,
  PR_SYSTEM,
} from '../constants.js';
import { fail } from '../assert.js';
import type { Context } from '../context.js';
import { BlockKind } from '../layout.js';
import { Arena, arenaOf, type ArenaValue } from '../linear.js';
import { COMMON_SPACE, SYSTEM_VM } from '../page_table.js';
import { allocateBlock } from './alloc.js';
import { failDword, validPageRange, type ServiceDef, hasReservedBits } from './service.js';

function arenaFor(page: number): ArenaValue | undefined {
  if (page === PR_PRIVATE) return Arena.private;
  if (page === PR_SHARED) return Arena.shared;
  if (page === PR_SYSTEM) return Arena.system;
  return undefined;
}

export function pageReserve(ctx: Context, page: number, npages: number, flags: number): number {
  if (hasReservedBits(flags, PR_FIXED | PR_4MEG | PR_STATIC)) {
    return ctx.refuse(ERROR_DWORD, 'reserved flag bits');
  }
  if (!Number.isInteger(npages) || npages <= 0 || npages > 0x80000)
    return ctx.refuse(ERROR_DWORD, 'invalid page count');
  const named = arenaFor(page);
  const arena = named ?? (validPageRange(page, npages) ? arenaOf(page) : undefined);
  if (arena === undefined) return ctx.refuse(ERROR_DWORD, 'invalid page or arena');
  const privateArena = arena === Arena.private;
  const system = arena === Arena.system;
  const made = allocateBlock(ctx, {
    pageCount: npages,
    arena,
    spaceVm: privateArena ? ctx.vm : SYSTEM_VM,
    space: privateArena ? ctx.vm : COMMON_SPACE,
    ownerVm: privateArena ? ctx.vm : -1,
    pType: system ? PG_SYS : PG_VM,
    perms: (system ? PG_SYS : PG_VM) << PG_TYPE_SHIFT,
    kind: BlockKind.RESERVED,
    flags,
    committed: false,
    zero: false,
    locked: false,
    fixed: false,
    ...((flags & PR_4MEG) !== 0 ? { alignLinearPages: 1024 } : {}),
    ...(named === undefined ? { atPage: page } : {}),
  });
  if (typeof made === 'string') return ctx.refuse(ERROR_DWORD, made);
  if (!(named !== undefined || made.base === page))
    fail('_PageReserve: not at the page asked', page);
  const aligned = named === undefined || (flags & PR_4MEG) === 0 || made.base % 1024 === 0;
  if (!aligned) fail('_PageReserve: PR_4MEG block not 4 MiB aligned', made.base);
  return made.base * 4096;
}

export const _PageReserve: ServiceDef = {
  name: '_PageReserve',
  ordinal: 0x11d,
  slot: -1,
  async: false,
  initOnly: false,
  failure: failDword,
  impl: pageReserve as ServiceDef['impl'],
};
