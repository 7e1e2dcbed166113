/**
 * DPMI 0600h Lock Linear Region and 0601h Unlock Linear Region — DPMI 1.0. The linear region
 * BX:CX, size SI:DI, in the calling VM's view. 8025h a page not committed (or an invalid
 * region); 8002h (unlock) a page not locked. The lock counts are in lock_pages.ts.
 */
import { DPMI_INVALID_LINEAR_ADDRESS, DPMI_INVALID_STATE } from '../../constants.js';
import { fail } from '../../assert.js';
import type { Context } from '../../context.js';
import { PAGE_SIZE } from '../../layout.js';
import { lockPages, unlockPages } from '../lock_pages.js';
import { dpmiError, pair, type Registers, withRegs } from './registers.js';

export function lockRegion(ctx: Context, regs: Registers, lock: boolean): Registers {
  const linear = pair(regs.bx, regs.cx);
  const size = pair(regs.si, regs.di);
  const first = Math.floor(linear / PAGE_SIZE);
  const count = size === 0 ? 0 : Math.floor((linear + size - 1) / PAGE_SIZE) - first + 1;
  if (count === 0 || first + count > 0x100000)
    return dpmiError(ctx, regs, DPMI_INVALID_LINEAR_ADDRESS, 'invalid linear region');
  if (!(count > 0 && first >= 0)) fail('DPMI 0600h/0601h: empty region after the checks', first);
  if (!(first + count <= 0x100000)) fail('DPMI 0600h/0601h: region past 4 GiB', first);
  const reason = lock
    ? lockPages(ctx, ctx.vm, first, count, false)
    : unlockPages(ctx, ctx.vm, first, count, false);
  if (reason === undefined) return withRegs(regs, {});
  const code = reason.includes('not locked') ? DPMI_INVALID_STATE : DPMI_INVALID_LINEAR_ADDRESS;
  return dpmiError(ctx, regs, code, reason);
}
