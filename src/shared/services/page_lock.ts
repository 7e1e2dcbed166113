/**
 * _PageLock(hMem, nPages, PageOff, flags) — Win 3.1 DDK. Synchronous. Lock counts are per page
 * (per frame here): five locks need five unlocks. Nonzero, or 0 for: an invalid handle;
 * nPages = 0; PageOff + nPages past the block; reserved flag bits. All or nothing. PageFixed
 * blocks are always locked: it does nothing to them and succeeds. flags: PageLockedIfDP (a
 * no-op success: the pager is not the MS-DOS pager; not before Init_Complete).
 */
import { PageLockedIfDP } from '../constants.js';
import type { Context } from '../context.js';
import { SYSTEM_VM } from '../page_table.js';
import { lockPages } from './lock_pages.js';
import { fail0, type ServiceDef } from './service.js';
import { pagesToLock } from './page_lock_target.js';

export function pageLock(
  ctx: Context,
  hMem: number,
  nPages: number,
  pageOff: number,
  flags: number,
): number {
  const t = pagesToLock(ctx, hMem, nPages, pageOff, flags, PageLockedIfDP);
  if (typeof t === 'number') return t;
  const reason = lockPages(ctx, SYSTEM_VM, t.first, nPages, false);
  return reason === undefined ? 1 : ctx.refuse(0, reason);
}

export const _PageLock: ServiceDef = {
  name: '_PageLock',
  ordinal: 0x56,
  slot: -1,
  async: false,
  initOnly: false,
  failure: fail0,
  impl: pageLock as ServiceDef['impl'],
};
