/**
 * _Allocate_Temp_V86_Data_Area(nBytes, flags) — Win 3.1 DDK. Init-only (VMM_ICODE),
 * synchronous. One paragraph-aligned, zero-filled block at the first V86 page; flags 0 or
 * TVDANeedTilInitComplete. Returns its address, or 0: one exists already, nBytes not
 * positive, no room below the video memory, reserved flag bits.
 */
import { TVDANeedTilInitComplete } from '../constants.js';
import { fail } from '../assert.js';
import type { Context } from '../context.js';
import { H, LOCK_MISC, PAGE_SIZE } from '../layout.js';
import { fail0, type ServiceDef } from './service.js';
import { V86_AREA_END, zeroLinear } from './v86_data_area.js';

export function allocateTempV86DataArea(ctx: Context, nBytes: number, flags: number): number {
  if (flags !== 0 && flags !== TVDANeedTilInitComplete) return ctx.refuse(0, 'reserved flag bits');
  if (!Number.isInteger(nBytes) || nBytes <= 0) return ctx.refuse(0, 'nBytes must be positive');
  const l = ctx.l;
  ctx.locker.acquire(LOCK_MISC);
  const address = l.header[H.firstV86Page]! * PAGE_SIZE;
  const reason =
    l.header[H.tempV86Address] !== 0
      ? 'a temporary block is already allocated'
      : address + nBytes > V86_AREA_END
        ? 'insufficient V86 memory'
        : undefined;
  if (reason === undefined) {
    l.header[H.tempV86Address] = address;
    l.header[H.tempV86Bytes] = nBytes;
  }
  if (!(reason !== undefined || l.header[H.tempV86Address] === address))
    fail('temp V86: not recorded');
  ctx.locker.release(LOCK_MISC);
  if (reason !== undefined) return ctx.refuse(0, reason);
  if (!(address + nBytes <= V86_AREA_END)) fail('temp V86: block past V86 RAM', address);
  zeroLinear(ctx, address, nBytes);
  return address;
}

export const _Allocate_Temp_V86_Data_Area: ServiceDef = {
  name: '_Allocate_Temp_V86_Data_Area',
  ordinal: 0xa9,
  slot: -1,
  async: false,
  initOnly: true,
  failure: fail0,
  impl: allocateTempV86DataArea as ServiceDef['impl'],
};
