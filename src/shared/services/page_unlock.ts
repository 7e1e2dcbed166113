/**
 * _PageUnLock(hMem, nPages, PageOff, flags) — Win 3.1 DDK. Synchronous. Takes one lock off
 * each page. Nonzero, or 0 for: an invalid handle; nPages = 0; PageOff + nPages past the
 * block; reserved flag bits; a page that is not locked. All or nothing. PageFixed blocks are
 * always locked: it does nothing to them and succeeds. flags: PageLockedIfDP (a no-op; not
 * before Init_Complete), PageMarkPageOut (clear P_ACC when a count reaches 0).
 */
import { PageLockedIfDP, PageMarkPageOut } from '../constants.js';
import type { Context } from '../context.js';
import { SYSTEM_VM } from '../page_table.js';
import { unlockPages } from './lock_pages.js';
import { fail0, type ServiceDef } from './service.js';
import { pagesToLock } from './page_lock_target.js';

export function pageUnLock(
  ctx: Context,
  hMem: number,
  nPages: number,
  pageOff: number,
  flags: number,
): number {
  const t = pagesToLock(ctx, hMem, nPages, pageOff, flags, PageLockedIfDP | PageMarkPageOut);
  if (typeof t === 'number') return t;
  const reason = unlockPages(ctx, SYSTEM_VM, t.first, nPages, (flags & PageMarkPageOut) !== 0);
  return reason === undefined ? 1 : ctx.refuse(0, reason);
}

export const _PageUnLock: ServiceDef = {
  name: '_PageUnLock',
  ordinal: 0x57,
  slot: -1,
  async: false,
  initOnly: false,
  failure: fail0,
  impl: pageUnLock as ServiceDef['impl'],
};
