/**
 * Two-level x86 paging over the simulated RAM: the only code that writes PTEs and PDEs.
 * Each VM has a page directory (a RAM frame); the shared and system arenas (PDE 512–1023)
 * point at the same page tables in every VM's directory. Page tables are RAM frames in state
 * PAGE_TABLE, made on first use and kept for the machine's life (common) or the VM's.
 * Callers hold the space lock of every page they read or write (spaceLockOf).
 */
import { assert } from './assert.js';
import { SHARED_ARENA_FIRST_PAGE } from './constants.js';
import { popFree, setFrame, zeroFrame } from './frames.js';
import {
  COMMON_PDE_FIRST,
  FrameState,
  type Layout,
  LOCK_COMMON_FIRST,
  LOCK_FREE_LIST,
  LOCK_VM_FIRST,
  LOCK_VM_TABLE,
  PTES_PER_TABLE,
  VM,
  VM_LIVE,
  VM_WORDS,
} from './layout.js';
import type { Locker } from './lock.js';
import { PDE_FLAGS, pteFrame, ptePresent } from './pte.js';

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

export const pageDirOf = (l: Layout, vm: number): number => l.vms[vm * VM_WORDS + VM.pageDirFrame]!;

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

/** Writes the PTE at `index` (from pteIndex or ensureTable). */
export function writePteAt(l: Layout, index: number, pte: number): void {
  assert(index >= 0 && index < l.ramWords.length, 'writePteAt: index outside RAM');
  l.ramWords[index] = pte;
}

/**
 * The PTE index of `page` in `vm`, making its page table if needed; -1 when no frame is free
 * for it. Caller holds spaceLockOf(page, vm) and no lock ranked above the VM table.
 */
export function ensureTable(l: Layout, locker: Locker, vm: number, page: number): number {
  assert(locker.holding(spaceLockOf(page, vm)), 'ensureTable: space lock not held');
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
      if (l.vms[v * VM_WORDS + VM.state] !== VM_LIVE) continue;
      l.ramWords[pageDirOf(l, v) * PTES_PER_TABLE + pdeNumber] = pde;
    }
    locker.release(LOCK_VM_TABLE);
  } else {
    l.ramWords[pageDirOf(l, vm) * PTES_PER_TABLE + pdeNumber] = pde;
  }
  const index = pteIndex(l, vm, page);
  assert(index >= 0, 'ensureTable: page table not reachable after it was made');
  return index;
}

/** Copies the common PDEs of the system VM into a new directory. Caller holds the VM table lock. */
export function copyCommonPdes(l: Layout, locker: Locker, pageDirFrame: number): void {
  assert(locker.holding(LOCK_VM_TABLE), 'copyCommonPdes: VM table lock not held');
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
