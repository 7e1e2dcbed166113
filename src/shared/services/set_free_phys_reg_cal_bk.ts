/**
 * _SetFreePhysRegCalBk(Callback, flags) — seed 000 and the DDK. Init-only, synchronous. flags
 * 0; any number of callbacks; nonzero, or 0 when the callback table is full or Callback is not
 * a function.
 */
import type { Context } from '../context.js';
import { fail0, type ServiceDef } from './service.js';

export function setFreePhysRegCalBk(ctx: Context, callback: unknown, flags: number): number {
  if (flags !== 0) return ctx.refuse(0, 'flags must be 0');
  if (typeof callback !== 'function') return ctx.refuse(0, 'Callback is not a procedure');
  const id = ctx.hooks.registerCallback(
    ctx,
    callback as (request: number, count: number) => boolean,
  );
  return id < 0 ? ctx.refuse(0, 'no memory to record the callback') : 1;
}

export const _SetFreePhysRegCalBk: ServiceDef = {
  name: '_SetFreePhysRegCalBk',
  ordinal: 0xd9,
  slot: -1,
  async: false,
  initOnly: true,
  failure: fail0,
  impl: setFreePhysRegCalBk as ServiceDef['impl'],
};
