/**
 * Which linear pages are taken: one bit per page of the shared and system arenas (common to
 * every VM) and of a private window per VM. Caller holds the block-table lock. This says
 * nothing about frames; page_table.ts says what a taken page maps.
 */
import { assert } from './assert.js';
import {
  COMMON_BIT_WORDS,
  COMMON_LINEAR_FIRST_PAGE,
  H,
  type Layout,
  PRIVATE_BIT_WORDS,
  PRIVATE_LINEAR_FIRST_PAGE,
  PRIVATE_WINDOW_PAGES,
  VM,
  VM_WORDS,
} from './layout.js';
import {
  SHARED_ARENA_FIRST_PAGE,
  SYSTEM_ARENA_END_PAGE,
  SYSTEM_ARENA_FIRST_PAGE,
} from './constants.js';

export const Arena = { shared: 0, system: 1, private: 2 } as const;
export type ArenaValue = (typeof Arena)[keyof typeof Arena];

interface Span {
  first: number; // first linear page of the arena
  end: number; // exclusive
  wordBase: number; // first bitmap word of the bitmap the arena lives in
  bitmapFirst: number; // linear page of bit 0 of that bitmap
}

function span(l: Layout, arena: ArenaValue, vm: number): Span {
  if (arena === Arena.shared) {
    return {
      first: SHARED_ARENA_FIRST_PAGE,
      end: SYSTEM_ARENA_FIRST_PAGE,
      wordBase: 0,
      bitmapFirst: COMMON_LINEAR_FIRST_PAGE,
    };
  }
  if (arena === Arena.system) {
    return {
      first: SYSTEM_ARENA_FIRST_PAGE,
      end: SYSTEM_ARENA_END_PAGE,
      wordBase: 0,
      bitmapFirst: COMMON_LINEAR_FIRST_PAGE,
    };
  }
  assert(vm >= 0 && vm < l.options.vmMax, 'linear: bad VM', vm);
  return {
    first: PRIVATE_LINEAR_FIRST_PAGE,
    end: PRIVATE_LINEAR_FIRST_PAGE + PRIVATE_WINDOW_PAGES,
    wordBase: COMMON_BIT_WORDS + vm * PRIVATE_BIT_WORDS,
    bitmapFirst: PRIVATE_LINEAR_FIRST_PAGE,
  };
}

function hintSlot(l: Layout, arena: ArenaValue, vm: number): { view: Int32Array; index: number } {
  if (arena === Arena.shared) return { view: l.header, index: H.linearHintShared };
  if (arena === Arena.system) return { view: l.header, index: H.linearHintSystem };
  return { view: l.vms, index: vm * VM_WORDS + VM.privateHint };
}

function bit(l: Layout, s: Span, page: number): boolean {
  const i = page - s.bitmapFirst;
  return (l.linearBits[s.wordBase + (i >>> 5)]! & (1 << (i & 31))) !== 0;
}

function setBits(l: Layout, s: Span, first: number, count: number, value: boolean): void {
  for (let page = first; page < first + count; page++) {
    const i = page - s.bitmapFirst;
    const w = s.wordBase + (i >>> 5);
    const mask = 1 << (i & 31);
    l.linearBits[w] = value ? l.linearBits[w]! | mask : l.linearBits[w]! & ~mask;
  }
}

/** The arena a linear page is in, for the bitmap; undefined where the bitmap has no bits. */
export function arenaOf(page: number): ArenaValue | undefined {
  if (page >= SHARED_ARENA_FIRST_PAGE && page < SYSTEM_ARENA_FIRST_PAGE) return Arena.shared;
  if (page >= SYSTEM_ARENA_FIRST_PAGE && page < SYSTEM_ARENA_END_PAGE) return Arena.system;
  if (
    page >= PRIVATE_LINEAR_FIRST_PAGE &&
    page < PRIVATE_LINEAR_FIRST_PAGE + PRIVATE_WINDOW_PAGES
  ) {
    return Arena.private;
  }
  return undefined;
}

/** Takes `count` free pages aligned to `alignPages` (first fit from a rotating hint), or -1. */
export function reserveLinear(
  l: Layout,
  arena: ArenaValue,
  vm: number,
  count: number,
  alignPages = 1,
): number {
  assert(count > 0, 'reserveLinear: count must be positive');
  const s = span(l, arena, vm);
  const hint = hintSlot(l, arena, vm);
  const hinted = hint.view[hint.index]!;
  const starts = [hinted >= s.first && hinted < s.end ? hinted : s.first, s.first];
  for (const from of starts) {
    let page = Math.ceil(from / alignPages) * alignPages;
    while (page + count <= s.end) {
      let run = 0;
      while (run < count && !bit(l, s, page + run)) run++;
      if (run === count) {
        setBits(l, s, page, count, true);
        hint.view[hint.index] = page + count;
        return page;
      }
      page = Math.ceil((page + run + 1) / alignPages) * alignPages;
    }
  }
  return -1;
}

/** Takes exactly [first, first+count) if every page of it is free in one arena. */
export function reserveLinearAt(l: Layout, vm: number, first: number, count: number): boolean {
  const arena = arenaOf(first);
  if (arena === undefined || arenaOf(first + count - 1) !== arena) return false;
  const s = span(l, arena, vm);
  for (let page = first; page < first + count; page++) if (bit(l, s, page)) return false;
  setBits(l, s, first, count, true);
  return true;
}

export function releaseLinear(l: Layout, vm: number, first: number, count: number): void {
  const arena = arenaOf(first);
  assert(arena !== undefined, `releaseLinear: page ${first.toString(16)}h has no arena`);
  const s = span(l, arena, vm);
  for (let page = first; page < first + count; page++) {
    assert(bit(l, s, page), 'releaseLinear: page was not taken', page);
  }
  setBits(l, s, first, count, false);
}

export function linearTaken(l: Layout, vm: number, page: number): boolean {
  const arena = arenaOf(page);
  if (arena === undefined) return false;
  return bit(l, span(l, arena, vm), page);
}
