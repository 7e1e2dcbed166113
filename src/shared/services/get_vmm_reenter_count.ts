/**
 * Get_VMM_Reenter_Count() — the DDK. ASYNCHRONOUS. ECX: 0 when the VMM was not re-entered.
 */
import type { Context } from '../context.js';
import { fail0, type ServiceDef } from './service.js';

export function getVmmReenterCount(ctx: Context): number {
  return ctx.reenterCount;
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
