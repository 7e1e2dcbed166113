/**
 * Two-level x86 paging over the simulated RAM: the only code that writes PTEs and PDEs.
 * Each VM has a page directory (a RAM frame); the shared and system arenas (PDE 512–1023)
 * point at the same page tables in every VM's directory. Page tables are RAM frames in state
 * PAGE_TABLE, made on first use and kept for the machine's life (common) or the VM's.
 * Callers hold the space lock of every page they read or write (spaceLockOf).
 * Entries change only through the verbs below (mapPage, unmapPage, commitPage, ...): each
 * asserts that the lock of the entry's table is held and that the old entry is what the verb
 * expects (a map over a present entry is a bug, as in xv6's mappages). pte.ts says what the
 * bits mean.
 */
import { fail } from './assert.js';
import { P_ACC, P_DIRTY, P_USER, P_WRITE, SHARED_ARENA_FIRST_PAGE } from './constants.js';
import { frameOwner, frameState, frameWhere, popFree, setFrame, zeroFrame } from './frames.js';
import {
  VM,
  COMMON_PDE_FIRST,
  FrameState,
  type Layout,
  LOCK_COMMON_FIRST,
  LOCK_FREE_LIST,
  LOCK_VM_FIRST,
  LOCK_VM_TABLE,
  PTES_PER_TABLE,
  VM_LIVE,
} from './layout.js';
import type { Locker } from './lock.js';
import {
  makeNotPresent,
  makePresent,
  makeReserved,
  PDE_FLAGS,
  pteFrame,
  ptePresent,
  pteReserved,
  withTypeOf,
} from './pte.js';
import { vmRead, vmState } from './vm_record.js';

export const SYSTEM_VM = 0;
export const COMMON_SPACE = -1;

export const isCommonPage = (page: number): boolean => page >= SHARED_ARENA_FIRST_PAGE;
/** The address space a page of `vm` belongs to: COMMON_SPACE or the VM id. */
export const spaceOf = (page: number, vm: number): number =>
  isCommonPage(page) ? COMMON_SPACE : vm;

/** The lock that guards the PTE of `page` as `vm` sees it. */
export function spaceLockOf(page: number, vm: number): number {
  if (isCommonPage(page)) return LOCK_COMMON_FIRST + (page >>> 10) - COMMON_PDE_FIRST;
  return LOCK_VM_FIRST + vm;
}

export const pageDirOf = (l: Layout, vm: number): number => vmRead(l, vm, VM.pageDirFrame);

/** Index in `ramWords` of the PTE of `page` in `vm`, or -1 if its page table does not exist. */
export function pteIndex(l: Layout, vm: number, page: number): number {
  const pde = l.ramWords[pageDirOf(l, vm) * PTES_PER_TABLE + (page >>> 10)]!;
  if (!ptePresent(pde)) return -1;
  return pteFrame(pde) * PTES_PER_TABLE + (page & (PTES_PER_TABLE - 1));
}

/** The PTE of `page` in `vm`; 0 (a free page) where no page table exists. */
export function readPte(l: Layout, vm: number, page: number): number {
  const index = pteIndex(l, vm, page);
  return index < 0 ? 0 : l.ramWords[index]!;
}

/**
 * The PTE index of `page` in `vm`, making its page table if needed; -1 when no frame is free
 * for it. Caller holds spaceLockOf(page, vm) and no lock ranked above the VM table.
 */
export function ensureTable(l: Layout, locker: Locker, vm: number, page: number): number {
  if (!locker.holding(spaceLockOf(page, vm))) fail('ensureTable: space lock not held');
  const existing = pteIndex(l, vm, page);
  if (existing >= 0) return existing;
  const pdeNumber = page >>> 10;
  locker.acquire(LOCK_FREE_LIST);
  const frame = popFree(l);
  if (frame >= 0) setFrame(l, frame, FrameState.PAGE_TABLE, spaceOf(page, vm), pdeNumber);
  locker.release(LOCK_FREE_LIST);
  if (frame < 0) return -1;
  zeroFrame(l, frame);
  const pde = (frame << 12) | PDE_FLAGS;
  if (isCommonPage(page)) {
    // Under the VM table lock so that a VM being created copies either none or all of it.
    locker.acquire(LOCK_VM_TABLE);
    for (let v = 0; v < l.options.vmMax; v++) {
      if (vmState(l, v) !== VM_LIVE) continue;
      l.ramWords[pageDirOf(l, v) * PTES_PER_TABLE + pdeNumber] = pde;
    }
    locker.release(LOCK_VM_TABLE);
  } else {
    l.ramWords[pageDirOf(l, vm) * PTES_PER_TABLE + pdeNumber] = pde;
  }
  const index = pteIndex(l, vm, page);
  if (!(index >= 0)) fail('ensureTable: page table not reachable after it was made');
  return index;
}

/** Copies the common PDEs of the system VM into a new directory. Caller holds the VM table lock. */
export function copyCommonPdes(l: Layout, locker: Locker, pageDirFrame: number): void {
  if (!locker.holding(LOCK_VM_TABLE)) fail('copyCommonPdes: VM table lock not held');
  const from = pageDirOf(l, SYSTEM_VM) * PTES_PER_TABLE;
  const to = pageDirFrame * PTES_PER_TABLE;
  l.ramWords.copyWithin(to + COMMON_PDE_FIRST, from + COMMON_PDE_FIRST, from + PTES_PER_TABLE);
}

/** Page-table frames of the private and DOS arenas of `vm` (for freeing at Destroy_VM). */
export function privateTables(l: Layout, vm: number): number[] {
  const dir = pageDirOf(l, vm) * PTES_PER_TABLE;
  const tables: number[] = [];
  for (let pde = 0; pde < COMMON_PDE_FIRST; pde++) {
    const entry = l.ramWords[dir + pde]!;
    if (ptePresent(entry)) tables.push(pteFrame(entry));
  }
  return tables;
}

/** The entry at `index` (from pteIndex or ensureTable). Caller holds its table's lock. */
export const pteAt = (l: Layout, index: number): number => l.ramWords[index]!;

/**
 * The lock that guards the entry at `index`, read from the record of the page table it lies
 * in (ensureTable records the table's space and PDE number): no caller can name a wrong one.
 */
export function tableLockOf(l: Layout, index: number): number {
  const table = index >>> 10;
  const pde = frameWhere(l, table);
  // One test on the hot path: inside RAM, in a page table, not in a page directory.
  if (!(
    index >= 0 &&
    index < l.ramWords.length &&
    frameState(l, table) === FrameState.PAGE_TABLE &&
    pde >= 0
  ))
    fail('PTE: index not in a page table', index);
  const space = frameOwner(l, table);
  return space === COMMON_SPACE
    ? LOCK_COMMON_FIRST + pde - COMMON_PDE_FIRST
    : LOCK_VM_FIRST + space;
}

/** The entry at `index` before a verb changes it: its table's lock is held (precondition). */
function entryToChange(l: Layout, locker: Locker, index: number): number {
  if (!locker.holding(tableLockOf(l, index))) fail('PTE write: table lock not held', index);
  return l.ramWords[index]!;
}

/** A frame number that fits a PTE's 20 frame bits (precondition of every mapping verb). */
const fitsEntry = (frame: number): boolean => frame >= 0 && frame < 0x100000;

/** Writes a present entry that holds `frame` (postcondition, checked on the value written). */
function writePresent(l: Layout, index: number, frame: number, pte: number): void {
  if (!(pteFrame(pte) === frame && ptePresent(pte))) fail('PTE: frame lost', index);
  l.ramWords[index] = pte;
}

/** What a mapping verb expects of the entry it writes over. */
const EXPECT_ABSENT = 0;
const EXPECT_PRESENT = 1;
const EXPECT_ANY = 2;

/**
 * Writes `frame` with `perms` over an entry that is as `expect` says (else `message` is the
 * assertion); returns the old entry.
 */
function writeMapping(
  l: Layout,
  locker: Locker,
  index: number,
  frame: number,
  perms: number,
  expect: number,
  message: string,
): number {
  const old = entryToChange(l, locker, index);
  if (!(expect === EXPECT_ANY || ptePresent(old) === (expect === EXPECT_PRESENT)))
    fail(message, index);
  if (!fitsEntry(frame)) fail('PTE: frame out of range', frame);
  writePresent(l, index, frame, makePresent(frame, perms));
  return old;
}

/**
 * Maps `frame` with `perms` where no frame was (a free or reserved entry): xv6's mappages,
 * `*pte = pa | perm | PTE_P`, and like it a remap of a present entry is a bug.
 */
export function mapPage(
  l: Layout,
  locker: Locker,
  index: number,
  frame: number,
  perms: number,
): void {
  writeMapping(l, locker, index, frame, perms, EXPECT_ABSENT, 'mapPage: remap of a present entry');
}

/**
 * Puts `frame` with `perms` in place of the frame of a present entry; returns the old entry
 * (the frame taken out is the caller's to account for).
 */
export function remapPage(
  l: Layout,
  locker: Locker,
  index: number,
  frame: number,
  perms: number,
): number {
  return writeMapping(l, locker, index, frame, perms, EXPECT_PRESENT, 'remapPage: not present');
}

/**
 * Maps `frame` over whatever the entry held (the V86 mappings: _PhysIntoV86, _MapIntoV86 and
 * _LinMapIntoV86 replace what the VM had at those pages). Returns the old entry.
 */
export function replacePage(
  l: Layout,
  locker: Locker,
  index: number,
  frame: number,
  perms: number,
): number {
  return writeMapping(l, locker, index, frame, perms, EXPECT_ANY, 'replacePage: unreachable');
}

/** Copies present entry `pte` (frame, bits and all) into a free entry: a shared V86 page. */
export function copyPte(l: Layout, locker: Locker, index: number, pte: number): void {
  const old = entryToChange(l, locker, index);
  if (!(old === 0)) fail('copyPte: entry not free', index);
  if (!ptePresent(pte)) fail('copyPte: copying a not-present entry', index);
  writePresent(l, index, pteFrame(pte), pte);
}

/** Reserves a free entry for a block page with no frame yet (permissions kept for commit). */
export function reservePage(l: Layout, locker: Locker, index: number, perms: number): void {
  const old = entryToChange(l, locker, index);
  if (!(old === 0)) fail('reservePage: entry not free', index);
  l.ramWords[index] = makeReserved(perms);
  if (!pteReserved(l.ramWords[index]!)) fail('reservePage: entry not reserved after', index);
}

/**
 * Commits a reserved entry: `frame` with `perms`, the page type the reservation chose kept
 * (the type bits of `perms` are ignored).
 */
export function commitPage(
  l: Layout,
  locker: Locker,
  index: number,
  frame: number,
  perms: number,
): void {
  const old = entryToChange(l, locker, index);
  if (!pteReserved(old)) fail('commitPage: entry not reserved', index);
  if (!fitsEntry(frame)) fail('PTE: frame out of range', frame);
  writePresent(l, index, frame, makePresent(frame, withTypeOf(old, perms)));
}

/**
 * Makes a present entry not present, its permissions kept (the page stays reserved: a
 * decommit, or a region page given up). Returns the old entry: its frame is the caller's.
 */
export function unmapPage(l: Layout, locker: Locker, index: number): number {
  const old = entryToChange(l, locker, index);
  if (!ptePresent(old)) fail('unmapPage: entry not present', index);
  l.ramWords[index] = makeNotPresent(old);
  if (!pteReserved(l.ramWords[index]!)) fail('unmapPage: entry not reserved after', index);
  return old;
}

/** Frees an entry whatever it held (its linear page leaves the block); returns the old entry. */
export function clearPte(l: Layout, locker: Locker, index: number): number {
  const old = entryToChange(l, locker, index);
  l.ramWords[index] = 0;
  return old;
}

/** Bits software changes in a present entry: write, user, accessed, dirty. */
const CHANGEABLE_BITS = P_WRITE | P_USER | P_ACC | P_DIRTY;

/** Sets `bits` (of write, user, accessed, dirty) in a present entry. */
export function setPteBits(l: Layout, locker: Locker, index: number, bits: number): void {
  const old = entryToChange(l, locker, index);
  if (!ptePresent(old)) fail('setPteBits: entry not present', index);
  if (!((bits & ~CHANGEABLE_BITS) === 0)) fail('setPteBits: not a changeable bit', bits);
  l.ramWords[index] = (old | bits) >>> 0;
}

/** Clears `bits` (of write, user, accessed, dirty) in a present entry. */
export function clearPteBits(l: Layout, locker: Locker, index: number, bits: number): void {
  const old = entryToChange(l, locker, index);
  if (!ptePresent(old)) fail('clearPteBits: entry not present', index);
  if (!((bits & ~CHANGEABLE_BITS) === 0)) fail('clearPteBits: not a changeable bit', bits);
  l.ramWords[index] = (old & ~bits) >>> 0;
}
