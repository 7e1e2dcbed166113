/**
 * _LinPageUnLock(HLinPgNum, nPages, flags) — Win 3.1 and Win95 DDK. Synchronous. Pages are
 * named by linear page number, in the current VM's view.
 * Flags: PAGELOCKEDIFDP (a no-op), PageMarkPageOut (clear P_ACC when a count reaches 0),
 * PAGEMAPGLOBAL (HLinPgNum and nPages name the alias, which is deleted [I: the page number of
 * the address _LinPageLock returned]).
 * Returns 0 for: an invalid address range; a page not committed; a page that is not locked;
 * reserved flag bits; (PAGEMAPGLOBAL) not an alias _LinPageLock made. All or nothing.
 */
import { PAGELOCKEDIFDP, PAGEMAPGLOBAL, PageMarkPageOut } from '../constants.js';
import type { Context } from '../context.js';
import { SYSTEM_VM } from '../page_table.js';
import { deleteGlobalAlias, findGlobalAlias } from './global_alias.js';
import { unlockPages } from './lock_pages.js';
import { fail0, hasReservedBits, type ServiceDef, validPageRange } from './service.js';

export function linPageUnLock(
  ctx: Context,
  hLinPgNum: number,
  nPages: number,
  flags: number,
): number {
  if (hasReservedBits(flags, PAGELOCKEDIFDP | PAGEMAPGLOBAL | PageMarkPageOut)) {
    return ctx.refuse(0, 'reserved flag bits');
  }
  if (!validPageRange(hLinPgNum, nPages)) return ctx.refuse(0, 'invalid address range');
  if ((flags & PAGELOCKEDIFDP) !== 0) return 1;
  const global = (flags & PAGEMAPGLOBAL) !== 0;
  const alias = global ? findGlobalAlias(ctx, hLinPgNum, nPages) : -1;
  if (global && alias < 0) return ctx.refuse(0, 'not a global alias made by _LinPageLock');
  const reason = unlockPages(
    ctx,
    global ? SYSTEM_VM : ctx.vm,
    hLinPgNum,
    nPages,
    (flags & PageMarkPageOut) !== 0,
  );
  if (reason !== undefined) return ctx.refuse(0, reason);
  if (global) deleteGlobalAlias(ctx, alias, hLinPgNum);
  return 1;
}

export const _LinPageUnLock: ServiceDef = {
  name: '_LinPageUnLock',
  ordinal: 0x64,
  slot: -1,
  async: false,
  initOnly: false,
  failure: fail0,
  impl: linPageUnLock as ServiceDef['impl'],
};
