/**
 * _GetNulPageHandle() — seed 002 and the DDK. Synchronous. The handle of the one system nul
 * page, the same every time.
 */
import type { Context } from '../context.js';
import { H } from '../layout.js';
import { fail0, type ServiceDef } from './service.js';

export function getNulPageHandle(ctx: Context): number {
  return ctx.l.header[H.nulPage]! * 4096;
}

export const _GetNulPageHandle: ServiceDef = {
  name: '_GetNulPageHandle',
  ordinal: 0x6a,
  slot: -1,
  async: false,
  initOnly: false,
  failure: fail0,
  impl: getNulPageHandle as ServiceDef['impl'],
};
