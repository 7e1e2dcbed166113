/**
 * _GetFreePageCount(flags) — the DDK. Synchronous. { eax: pages on the free list, edx:
 * pages that could be allocated locked } (equal here: there is no paging to disk). flags must
 * be 0 [I].
 */
import type { Context } from '../context.js';
import { freeCount } from '../frames.js';
import { failPair, type ServiceDef, type TwoRegisters } from './service.js';

export function getFreePageCount(ctx: Context, flags: number): TwoRegisters {
  if (flags !== 0) return ctx.refuse(failPair(), 'flags must be 0');
  const free = freeCount(ctx.l);
  return { eax: free, edx: free };
}

export const _GetFreePageCount: ServiceDef = {
  name: '_GetFreePageCount',
  ordinal: 0x5a,
  slot: -1,
  async: false,
  initOnly: false,
  failure: failPair,
  impl: getFreePageCount as ServiceDef['impl'],
};
