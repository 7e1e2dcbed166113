// The PTE verbs of page_table.ts: each writes only under the lock of the entry's table and
// only over the entry it expects (xv6's mappages panics on a remap; so does mapPage).
import { describe, expect, it } from 'vitest';
import {
  AssertionError,
  createKernel,
  PG_SYS,
  PR_SYSTEM,
  PG_TYPE_SHIFT,
  presets,
  P_ACC,
  P_DIRTY,
  P_USER,
  P_WRITE,
} from '../../src/index.js';
import { Locker } from '../../src/shared/lock.js';
import {
  clearPte,
  commitPage,
  mapPage,
  pteAt,
  pteIndex,
  remapPage,
  reservePage,
  setPteBits,
  spaceLockOf,
  SYSTEM_VM,
  tableLockOf,
  unmapPage,
} from '../../src/shared/page_table.js';
import { pteFrame, ptePresent, pteReserved, pteType } from '../../src/shared/pte.js';

/** A booted machine, a locker of its own, and a reserved 2-page system block to write in. */
function machine() {
  const kernel = createKernel(presets.testMin);
  const dev = kernel.device('VXD');
  kernel.systemControl('Sys_Critical_Init');
  const page = dev._PageReserve(PR_SYSTEM, 2, 0) >>> 12;
  expect(page).toBeGreaterThan(0);
  const l = kernel.layout;
  const locker = new Locker(l, 0);
  const index = pteIndex(l, SYSTEM_VM, page);
  const lock = spaceLockOf(page, SYSTEM_VM);
  const frame = l.options.ramPages - 1; // any frame number: the verbs do not account frames
  return { kernel, l, locker, page, index, lock, frame };
}

describe('PTE verbs', () => {
  it('tableLockOf names the lock spaceLockOf gives for the page', () => {
    const { l, index, lock } = machine();
    expect(tableLockOf(l, index)).toBe(lock);
  });

  it('a write without the lock of the entry table is an assertion', () => {
    const { l, locker, index, frame } = machine();
    expect(() => commitPage(l, locker, index, frame, P_WRITE)).toThrow(AssertionError);
    expect(() => commitPage(l, locker, index, frame, P_WRITE)).toThrow(/table lock not held/);
  });

  it('commitPage keeps the reserved page type; unmapPage keeps the permissions', () => {
    const { l, locker, index, lock, frame } = machine();
    locker.acquire(lock);
    commitPage(l, locker, index, frame, P_WRITE | P_USER);
    const pte = pteAt(l, index);
    expect([ptePresent(pte), pteFrame(pte), pteType(pte)]).toEqual([true, frame, PG_SYS]);
    const old = unmapPage(l, locker, index);
    expect(old).toBe(pte);
    expect(pteReserved(pteAt(l, index))).toBe(true);
    expect(pteAt(l, index) & (P_WRITE | P_USER)).toBe(P_WRITE | P_USER);
    commitPage(l, locker, index, frame, 0); // back, so that the block frees cleanly
    clearPte(l, locker, index);
    reservePage(l, locker, index, PG_SYS << PG_TYPE_SHIFT);
    locker.release(lock);
  });

  it('mapPage over a present entry panics (a remap), and remapPage over a free one', () => {
    const { l, locker, index, lock, frame } = machine();
    locker.acquire(lock);
    commitPage(l, locker, index, frame, P_WRITE);
    expect(() => mapPage(l, locker, index, frame - 1, P_WRITE)).toThrow(/remap of a present/);
    expect(() => commitPage(l, locker, index, frame, P_WRITE)).toThrow(/not reserved/);
    expect(() => reservePage(l, locker, index, 0)).toThrow(/not free/);
    clearPte(l, locker, index);
    expect(() => remapPage(l, locker, index, frame, P_WRITE)).toThrow(/not present/);
    expect(() => unmapPage(l, locker, index)).toThrow(/not present/);
    expect(() => mapPage(l, locker, index, 0x100000, P_WRITE)).toThrow(/frame out of range/);
    locker.release(lock);
  });

  it('setPteBits changes accessed and dirty only, on present entries only', () => {
    const { l, locker, index, lock, frame } = machine();
    locker.acquire(lock);
    expect(() => setPteBits(l, locker, index, P_ACC)).toThrow(/not present/);
    commitPage(l, locker, index, frame, P_WRITE);
    setPteBits(l, locker, index, P_ACC | P_DIRTY);
    expect(pteAt(l, index) & (P_ACC | P_DIRTY)).toBe(P_ACC | P_DIRTY);
    expect(() => setPteBits(l, locker, index, 1 << 12)).toThrow(/not a changeable bit/);
    expect(pteFrame(pteAt(l, index))).toBe(frame);
    locker.release(lock);
  });
});
