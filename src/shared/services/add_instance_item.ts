/**
 * _AddInstanceItem(pInstDataStruc, flags) — Win 3.1 DDK. Init-only (VMM_ICODE), synchronous.
 * pInstDataStruc is a Uint32Array of 5 (InstLinkF, InstLinkB = 0, InstLinAddr, InstSize,
 * InstType); flags 0. Nonzero, or 0: a bad structure or InstType, a range outside V86 memory,
 * too many items, or instance data after Init_Complete was processed (each new VM copies the
 * snapshot taken then).
 */
import { ALWAYS_FIELD, INDOS_FIELD, OPTIONAL_FIELD } from '../constants.js';
import { fail } from '../assert.js';
import type { Context } from '../context.js';
import { LOCK_MISC, PAGE_SIZE } from '../layout.js';
import { HMA_END_PAGE, isInstancePage } from '../machine.js';
import { fail0, type ServiceDef } from './service.js';
import { INSTANCE_TOO_LATE, instanceSnapshotTaken, addInstanceRange } from './v86_data_area.js';

export function addInstanceItem(ctx: Context, pInstDataStruc: unknown, flags: number): number {
  if (flags !== 0) return ctx.refuse(0, 'flags must be 0');
  if (!(pInstDataStruc instanceof Uint32Array) || pInstDataStruc.length < 5) {
    return ctx.refuse(0, 'pInstDataStruc is not a 5-dword InstDataStruc');
  }
  const [linkF, linkB, address, size, type] = pInstDataStruc;
  if (linkF !== 0 || linkB !== 0) return ctx.refuse(0, 'InstLinkF and InstLinkB must be 0');
  if (size === 0 || address! + size! > HMA_END_PAGE * PAGE_SIZE)
    return ctx.refuse(0, 'instance range not in V86 memory');
  if (type !== INDOS_FIELD && type !== ALWAYS_FIELD && type !== OPTIONAL_FIELD)
    return ctx.refuse(0, 'invalid InstType');
  if (instanceSnapshotTaken(ctx)) return ctx.refuse(0, INSTANCE_TOO_LATE);
  ctx.locker.acquire(LOCK_MISC);
  const ok = addInstanceRange(ctx.l, address!, size!);
  if (!(!ok || isInstancePage(ctx.l, address! >>> 12)))
    fail('_AddInstanceItem: range not recorded');
  ctx.locker.release(LOCK_MISC);
  return ok ? 1 : ctx.refuse(0, 'too many instance items');
}

export const _AddInstanceItem: ServiceDef = {
  name: '_AddInstanceItem',
  ordinal: 0xa6,
  slot: -1,
  async: false,
  initOnly: true,
  failure: fail0,
  impl: addInstanceItem as ServiceDef['impl'],
};
