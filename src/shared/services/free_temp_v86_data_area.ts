/**
 * _Free_Temp_V86_Data_Area() — Win 3.1 DDK. Init-only (VMM_ICODE), synchronous. Frees the
 * temporary V86 data block: nonzero, or 0 if none is allocated.
 */
import { fail } from '../assert.js';
import type { Context } from '../context.js';
import { H, LOCK_MISC } from '../layout.js';
import { fail0, type ServiceDef } from './service.js';

export function freeTempV86DataArea(ctx: Context): number {
  ctx.locker.acquire(LOCK_MISC);
  const had = ctx.l.header[H.tempV86Address] !== 0;
  // an allocated temporary block has a size; a free one has none
  if (!(had === (ctx.l.header[H.tempV86Bytes] !== 0))) fail('temp V86: address and size disagree');
  ctx.l.header[H.tempV86Address] = 0;
  ctx.l.header[H.tempV86Bytes] = 0;
  if (!ctx.locker.holding(LOCK_MISC)) fail('temp V86: misc lock not held');
  ctx.locker.release(LOCK_MISC);
  return had ? 1 : ctx.refuse(0, 'no temporary block is allocated');
}

export const _Free_Temp_V86_Data_Area: ServiceDef = {
  name: '_Free_Temp_V86_Data_Area',
  ordinal: 0xaa,
  slot: -1,
  async: false,
  initOnly: true,
  failure: fail0,
  impl: freeTempV86DataArea as ServiceDef['impl'],
};
