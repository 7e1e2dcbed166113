/**
 * _LinPageLock(HLinPgNum, nPages, flags) — Win 3.1 and Win95 DDK. Synchronous. Pages are named
 * by linear page number, in the current VM's view; every page must be committed (present).
 * Flags: PAGELOCKEDIFDP (a no-op: the pager is not the MS-DOS pager), PAGEMAPGLOBAL (also
 * make a global alias in the system arena; EAX is its byte address [I, reference §7]),
 * PAGEMARKDIRTY (set D on the pages). PAGELOCKEDIFDP and PAGEMAPGLOBAL exclude each other.
 * Without PAGEMAPGLOBAL EAX is 1.
 * Returns 0 for: an invalid address range; a page not committed; reserved flag bits. All or
 * nothing. The locking itself (and the DMA rule) is in lock_pages.ts.
 */
import { PAGELOCKEDIFDP, PAGEMAPGLOBAL, PAGEMARKDIRTY } from '../constants.js';
import { fail } from '../assert.js';
import { Arena, arenaOf } from '../linear.js';
import type { Context } from '../context.js';
import { makeGlobalAlias } from './global_alias.js';
import { lockPages, unlockPages } from './lock_pages.js';
import { fail0, hasReservedBits, type ServiceDef, validPageRange } from './service.js';

// kernel.ts (helper A's) imports this from here; the lead points it at global_alias.ts.

export function linPageLock(
  ctx: Context,
  hLinPgNum: number,
  nPages: number,
  flags: number,
): number {
  if (hasReservedBits(flags, PAGELOCKEDIFDP | PAGEMAPGLOBAL | PAGEMARKDIRTY)) {
    return ctx.refuse(0, 'reserved flag bits');
  }
  if ((flags & PAGELOCKEDIFDP) !== 0 && (flags & PAGEMAPGLOBAL) !== 0) {
    return ctx.refuse(0, 'PAGEMAPGLOBAL cannot be combined with PAGELOCKEDIFDP');
  }
  if (!validPageRange(hLinPgNum, nPages)) return ctx.refuse(0, 'invalid address range');
  if ((flags & PAGELOCKEDIFDP) !== 0) return 1;
  const reason = lockPages(ctx, ctx.vm, hLinPgNum, nPages, (flags & PAGEMARKDIRTY) !== 0);
  if (reason !== undefined) return ctx.refuse(0, reason);
  if ((flags & PAGEMAPGLOBAL) === 0) return 1;
  const alias = makeGlobalAlias(ctx, hLinPgNum, nPages);
  if (alias < 0) {
    unlockPages(ctx, ctx.vm, hLinPgNum, nPages, false);
    return ctx.refuse(0, 'insufficient memory for the global alias');
  }
  if (!(arenaOf(alias) === Arena.system))
    fail('_LinPageLock: alias outside the system arena', alias);
  return alias * 4096;
}

export const _LinPageLock: ServiceDef = {
  name: '_LinPageLock',
  ordinal: 0x63,
  slot: -1,
  async: false,
  initOnly: false,
  failure: fail0,
  impl: linPageLock as ServiceDef['impl'],
};
