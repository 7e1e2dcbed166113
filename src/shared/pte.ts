/**
 * What a 32-bit page-table entry means: x86 bits, the VMM page type in bits 9–11, and the
 * simulator's encoding of not-present entries. Pure functions, one line each; page_table.ts
 * is the only code that writes entries (through its verbs: mapPage, unmapPage, ...).
 *
 * Not-present entries (the CPU ignores every bit but P there):
 *   0                          a free linear page
 *   PTE_RESERVED | perms       a page that belongs to a block but has no frame: reserved and
 *                              not committed, or a not-present page of a free physical region
 */
import { P_PCD, P_PRES, P_PWT, P_USER, P_WRITE, PG_TYPE } from './constants.js';

export const PTE_RESERVED = 0x100;
/** Bits a block chooses for its pages: write, user, cache control and the page type. */
export const PTE_PERM_MASK = P_WRITE | P_USER | P_PWT | P_PCD | PG_TYPE;
export const PTE_FLAGS_MASK = 0xfff;

export const ptePresent = (pte: number): boolean => (pte & P_PRES) !== 0;
export const pteFrame = (pte: number): number => pte >>> 12;
export const ptePhysAddr = (pte: number): number => (pte & ~0xfff) >>> 0;
export const pteReserved = (pte: number): boolean =>
  (pte & (P_PRES | PTE_RESERVED)) === PTE_RESERVED;
export const pteUsed = (pte: number): boolean => pte !== 0;
export const ptePerms = (pte: number): number => pte & PTE_PERM_MASK;
export const pteType = (pte: number): number => (pte & PG_TYPE) >>> 9;
export const makePresent = (frame: number, perms: number): number =>
  ((frame << 12) | (perms & PTE_PERM_MASK) | P_PRES) >>> 0;
export const makeReserved = (perms: number): number =>
  ((perms & PTE_PERM_MASK) | PTE_RESERVED) >>> 0;
/** A present entry made not present keeps its permissions, drops frame, A and D. */
export const makeNotPresent = (pte: number): number => makeReserved(pte);
/** `perms` with the page type of `pte` in place of its own (a commit keeps the reserved type). */
export const withTypeOf = (pte: number, perms: number): number =>
  ((perms & ~PG_TYPE) | (pte & PG_TYPE)) >>> 0;
export const pteTypeBits = (pte: number): number => pte & PG_TYPE;
export const pteUser = (pte: number): boolean => (pte & P_USER) !== 0;
export const pteWritable = (pte: number): boolean => (pte & P_WRITE) !== 0;
export const PDE_FLAGS = P_PRES | P_WRITE | P_USER;
