/**
 * The small services with no state of their own:
 * - Get_VMM_Reenter_Count() — ASYNCHRONOUS. ECX: 0 when the VMM was not re-entered.
 * - _GetNulPageHandle() — the handle of the one system nul page, the same every time.
 * - _GetFreePageCount(flags) — { eax: pages on the free list, edx: pages that could be
 *   allocated locked } (equal here: there is no paging to disk). flags must be 0 [I].
 * - _SetFreePhysRegCalBk(Callback, flags) — init only; flags 0; any number of callbacks;
 *   nonzero, or 0 when the callback table is full or Callback is not a function.
 */
import type { Context } from '../context.js';
import { H } from '../layout.js';
import { fail0, failPair, type ServiceDef, type TwoRegisters } from './service.js';

export function getVmmReenterCount(ctx: Context): number {
  return ctx.reenterCount;
}

export function getNulPageHandle(ctx: Context): number {
  return ctx.l.header[H.nulPage]! * 4096;
}

export function getFreePageCount(ctx: Context, flags: number): TwoRegisters {
  if (flags !== 0) return ctx.refuse(failPair(), 'flags must be 0');
  const free = Atomics.load(ctx.l.header, H.freeCount);
  return { eax: free, edx: free };
}

export function setFreePhysRegCalBk(ctx: Context, callback: unknown, flags: number): number {
  if (flags !== 0) return ctx.refuse(0, 'flags must be 0');
  if (typeof callback !== 'function') return ctx.refuse(0, 'Callback is not a procedure');
  const id = ctx.hooks.registerCallback(
    ctx,
    callback as (request: number, count: number) => boolean,
  );
  return id < 0 ? ctx.refuse(0, 'no memory to record the callback') : 1;
}

export const Get_VMM_Reenter_Count: ServiceDef = {
  name: 'Get_VMM_Reenter_Count',
  ordinal: 0x06,
  slot: -1,
  async: true,
  initOnly: false,
  failure: fail0,
  impl: getVmmReenterCount as ServiceDef['impl'],
};
export const _GetNulPageHandle: ServiceDef = {
  name: '_GetNulPageHandle',
  ordinal: 0x6a,
  slot: -1,
  async: false,
  initOnly: false,
  failure: fail0,
  impl: getNulPageHandle as ServiceDef['impl'],
};
export const _GetFreePageCount: ServiceDef = {
  name: '_GetFreePageCount',
  ordinal: 0x5a,
  slot: -1,
  async: false,
  initOnly: false,
  failure: failPair,
  impl: getFreePageCount as ServiceDef['impl'],
};
export const _SetFreePhysRegCalBk: ServiceDef = {
  name: '_SetFreePhysRegCalBk',
  ordinal: 0xd9,
  slot: -1,
  async: false,
  initOnly: true,
  failure: fail0,
  impl: setFreePhysRegCalBk as ServiceDef['impl'],
};
