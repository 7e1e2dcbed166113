/**
 * _PageModifyPermissions(page, npages, permand, permor) — Win95 DDK (S3232). Synchronous.
 * New permissions = (old AND permand) OR permor, over PC_USER and PC_WRITEABLE. Every page
 * must be committed. Pages reserved with PR_STATIC change only if permor has PC_STATIC.
 * The DDK page leaves the return value out; as in Wine [I, reference §2.8]: the old
 * PC_USER|PC_WRITEABLE bits of the first page, or 0FFFFFFFFh on failure.
 * PC_USER on a page of the system arena is refused [I: the system arena is ring 0 only;
 * DESIGN.md §3, isolation]: ring-3 code of every VM would see it.
 */
import { blockWord, findBlockContaining } from '../blocks.js';
import {
  ERROR_DWORD,
  PC_STATIC,
  PC_USER,
  PC_WRITEABLE,
  PR_STATIC,
  P_USER,
  P_WRITE,
} from '../constants.js';
import { fail } from '../assert.js';
import type { Context } from '../context.js';
import { overlapsSystemArena } from '../isolation.js';
import { BK, BlockKind, LOCK_BLOCKS } from '../layout.js';
import { clearPteBits, pteAt, pteIndex, setPteBits, spaceOf } from '../page_table.js';
import { ptePresent, pteUser, pteWritable } from '../pte.js';
import {
  failDword,
  isDword,
  lockRange,
  unlockRange,
  validPageRange,
  type ServiceDef,
} from './service.js';

const toPc = (pte: number): number =>
  (pteUser(pte) ? PC_USER : 0) | (pteWritable(pte) ? PC_WRITEABLE : 0);
const toPte = (pc: number): number =>
  ((pc & PC_USER) !== 0 ? P_USER : 0) | ((pc & PC_WRITEABLE) !== 0 ? P_WRITE : 0);

function isStatic(ctx: Context, page: number): boolean {
  ctx.locker.acquire(LOCK_BLOCKS);
  const block = findBlockContaining(ctx.l, spaceOf(page, ctx.vm), page);
  ctx.locker.release(LOCK_BLOCKS);
  return (
    block >= 0 &&
    blockWord(ctx.l, block, BK.kind) === BlockKind.RESERVED &&
    (blockWord(ctx.l, block, BK.flags) & PR_STATIC) !== 0
  );
}

export function pageModifyPermissions(
  ctx: Context,
  page: number,
  npages: number,
  permand: number,
  permor: number,
): number {
  if (!validPageRange(page, npages)) return ctx.refuse(ERROR_DWORD, 'invalid page range');
  if (!isDword(permand) || !isDword(permor))
    return ctx.refuse(ERROR_DWORD, 'invalid permission mask');
  if (isStatic(ctx, page) && (permor & PC_STATIC) === 0)
    return ctx.refuse(ERROR_DWORD, 'PR_STATIC pages need PC_STATIC');
  if ((permor & PC_USER) !== 0 && overlapsSystemArena(page, npages))
    return ctx.refuse(ERROR_DWORD, 'PC_USER in the system arena (ring 0 only)');
  const l = ctx.l;
  if (!(npages > 0)) fail('_PageModifyPermissions: empty range after the checks', page);
  const locks = lockRange(ctx, ctx.vm, page, npages);
  let old = -1;
  for (let p = page; p < page + npages; p++) {
    const index = pteIndex(l, ctx.vm, p);
    if (index < 0 || !ptePresent(pteAt(l, index))) {
      unlockRange(ctx, locks);
      return ctx.refuse(ERROR_DWORD, 'page not committed');
    }
  }
  for (let p = page; p < page + npages; p++) {
    const index = pteIndex(l, ctx.vm, p);
    const pte = pteAt(l, index);
    if (old < 0) old = toPc(pte);
    clearPteBits(l, ctx.locker, index, P_USER | P_WRITE);
    setPteBits(l, ctx.locker, index, toPte((toPc(pte) & permand) | permor));
  }
  unlockRange(ctx, locks);
  if (!(old >= 0 && (old & ~(PC_USER | PC_WRITEABLE)) === 0))
    fail('_PageModifyPermissions: old', old);
  return old;
}

export const _PageModifyPermissions: ServiceDef = {
  name: '_PageModifyPermissions',
  ordinal: 0x133,
  slot: -1,
  async: false,
  initOnly: false,
  failure: failDword,
  impl: pageModifyPermissions as ServiceDef['impl'],
};
