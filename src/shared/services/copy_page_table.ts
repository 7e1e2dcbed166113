/**
 * _CopyPageTable(LinPgNum, nPages, PageBufPtr, flags) — Win 3.1 and Win95 DDK, seed 002.
 * Synchronous. Copies the PTEs of [LinPgNum, LinPgNum+nPages), as the current VM sees them,
 * into the caller's Uint32Array: exact copies (frame address in bits 12–31 plus flags), a
 * snapshot that later changes do not follow. Pages 0–10Fh are the current VM's V86 space.
 * Returns nonzero; 0 for: flags ≠ 0; LinPgNum outside 0–0FFFFFh; an invalid range; a buffer
 * that is not a Uint32Array of at least nPages entries (refused, never overrun — seed 002's
 * own example copies 5 entries into 3); an entry under a not-present PDE (the entries
 * under it read 0 and the rest are copied).
 */
import type { Context } from '../context.js';
import { pteAt, pteIndex } from '../page_table.js';
import { fail0, lockRange, unlockRange, validPageRange, type ServiceDef } from './service.js';

export function copyPageTable(
  ctx: Context,
  linPgNum: number,
  nPages: number,
  pageBufPtr: unknown,
  flags: number,
): number {
  if (flags !== 0) return ctx.refuse(0, 'flags must be 0');
  if (!Number.isInteger(linPgNum) || linPgNum < 0 || linPgNum > 0xfffff) {
    return ctx.refuse(0, 'invalid linear page number');
  }
  if (!validPageRange(linPgNum, nPages)) return ctx.refuse(0, 'invalid range of pages');
  if (!(pageBufPtr instanceof Uint32Array)) return ctx.refuse(0, 'PageBufPtr is not a Uint32Array');
  if (pageBufPtr.length < nPages) {
    return ctx.refuse(0, `buffer too small: ${pageBufPtr.length} entries for ${nPages} pages`);
  }
  const l = ctx.l;
  const locks = lockRange(ctx, ctx.vm, linPgNum, nPages);
  let complete = true;
  for (let i = 0; i < nPages; i++) {
    const index = pteIndex(l, ctx.vm, linPgNum + i);
    if (index < 0) complete = false;
    pageBufPtr[i] = index < 0 ? 0 : pteAt(l, index);
  }
  unlockRange(ctx, locks);
  return complete ? 1 : ctx.refuse(0, 'page directory entry not present');
}

export const _CopyPageTable: ServiceDef = {
  name: '_CopyPageTable',
  ordinal: 0x61,
  slot: -1,
  async: false,
  initOnly: false,
  failure: fail0,
  impl: copyPageTable as ServiceDef['impl'],
};
