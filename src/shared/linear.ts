/**
 * Which linear pages are taken: one bit per page of the shared and system arenas (common to
 * every VM) and of a private window per VM. Caller holds the block-table lock. This says
 * nothing about frames; page_table.ts says what a taken page maps.
 */
import { fail } from './assert.js';
import {
  VM,
  COMMON_BIT_WORDS,
  COMMON_LINEAR_FIRST_PAGE,
  H,
  type Layout,
  PRIVATE_BIT_WORDS,
  PRIVATE_LINEAR_FIRST_PAGE,
  PRIVATE_WINDOW_PAGES,
} from './layout.js';
import { vmSlot } from './vm_record.js';
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
  if (!(vm >= 0 && vm < l.options.vmMax)) fail('linear: bad VM', vm);
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
  return vmSlot(l, vm, VM.privateHint);
}

function bit(bits: Int32Array, s: Span, page: number): boolean {
  const i = page - s.bitmapFirst;
  return (bits[s.wordBase + (i >>> 5)]! & (1 << (i & 31))) !== 0;
}

/** Mask of bits [from, to) of one word, 0 <= from < to <= 32. */
const bitMask = (from: number, to: number): number =>
  ((to === 32 ? -1 : (1 << to) - 1) & ~((1 << from) - 1)) | 0;

/** Sets or clears [first, first+count) a word at a time. */
function setBits(bits: Int32Array, s: Span, first: number, count: number, value: boolean): void {
  let i = first - s.bitmapFirst;
  const end = i + count;
  while (i < end) {
    const w = s.wordBase + (i >>> 5);
    const to = Math.min(32, (i & 31) + end - i);
    const mask = bitMask(i & 31, to);
    bits[w] = value ? bits[w]! | mask : bits[w]! & ~mask;
    i += to - (i & 31);
  }
}

/** True when every page of [first, first+count) has its bit clear; a word at a time. */
function allClear(bits: Int32Array, s: Span, first: number, count: number): boolean {
  return nextSet(bits, s, first, first + count) === first + count;
}

/** The first page in [from, end) whose bit is set, or `end`; a word at a time. */
const nextSet = (bits: Int32Array, s: Span, from: number, end: number): number =>
  nextWithBit(bits, s, from, end, 0);

/** The first page in [from, end) whose bit is clear, or `end`; a word at a time. */
const nextClear = (bits: Int32Array, s: Span, from: number, end: number): number =>
  nextWithBit(bits, s, from, end, -1);

/** The first page in [from, end) whose bit differs from `flip` (0: a set bit; -1: a clear one). */
function nextWithBit(bits: Int32Array, s: Span, from: number, end: number, flip: 0 | -1): number {
  let i = from - s.bitmapFirst;
  const stop = end - s.bitmapFirst;
  while (i < stop) {
    const word = (bits[s.wordBase + (i >>> 5)]! ^ flip) & bitMask(i & 31, 32);
    if (word !== 0) return Math.min(end, s.bitmapFirst + (i & ~31) + ctz(word));
    i = (i & ~31) + 32;
  }
  return end;
}

/** The last page in [first, page] whose bit is set, or -1; a word at a time. */
function lastSetAtOrBefore(bits: Int32Array, s: Span, first: number, page: number): number {
  let i = page - s.bitmapFirst;
  const low = first - s.bitmapFirst;
  while (i >= low) {
    const word = bits[s.wordBase + (i >>> 5)]! & bitMask(0, (i & 31) + 1);
    if (word !== 0) {
      const found = (i & ~31) + 31 - Math.clz32(word);
      return found >= low ? s.bitmapFirst + found : -1;
    }
    i = (i & ~31) - 1;
  }
  return -1;
}

/** Count of trailing zero bits of a non-zero word. */
const ctz = (word: number): number => 31 - Math.clz32(word & -word);

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

/**
 * Takes `count` free pages aligned to `alignPages` (first fit from a rotating hint), or -1.
 * The search skips whole words of taken pages and measures free runs a word at a time, so its
 * cost grows with the words it passes, not with the pages or blocks behind them.
 */
export function reserveLinear(
  l: Layout,
  arena: ArenaValue,
  vm: number,
  count: number,
  alignPages = 1,
): number {
  if (!(count > 0)) fail('reserveLinear: count must be positive');
  const s = span(l, arena, vm);
  const hint = hintSlot(l, arena, vm);
  const hinted = hint.view[hint.index]!;
  const starts = [hinted >= s.first && hinted < s.end ? hinted : s.first, s.first];
  for (const from of starts) {
    let page = alignUp(nextClear(l.linearBits, s, from, s.end), alignPages);
    while (page + count <= s.end) {
      const taken = nextSet(l.linearBits, s, page, page + count);
      if (taken === page + count) {
        setBits(l.linearBits, s, page, count, true);
        hint.view[hint.index] = page + count;
        if (allClear(l.linearBits, s, page, count)) fail('reserveLinear: bits not set');
        return page;
      }
      page = alignUp(nextClear(l.linearBits, s, taken, s.end), alignPages);
    }
  }
  return -1;
}

const alignUp = (page: number, alignPages: number): number =>
  alignPages === 1 ? page : Math.ceil(page / alignPages) * alignPages;

/** Takes exactly [first, first+count) if every page of it is free in one arena. */
export function reserveLinearAt(l: Layout, vm: number, first: number, count: number): boolean {
  const arena = arenaOf(first);
  if (arena === undefined || arenaOf(first + count - 1) !== arena) return false;
  const s = span(l, arena, vm);
  if (!allClear(l.linearBits, s, first, count)) return false;
  setBits(l.linearBits, s, first, count, true);
  return true;
}

export function releaseLinear(l: Layout, vm: number, first: number, count: number): void {
  const arena = arenaOf(first);
  if (!(arena !== undefined)) fail(`releaseLinear: page ${first.toString(16)}h has no arena`);
  const s = span(l, arena, vm);
  if (!(nextClear(l.linearBits, s, first, first + count) === first + count))
    fail('releaseLinear: a page was not taken', first);
  setBits(l.linearBits, s, first, count, false);
}

export function linearTaken(l: Layout, vm: number, page: number): boolean {
  const arena = arenaOf(page);
  if (arena === undefined) return false;
  return bit(l.linearBits, span(l, arena, vm), page);
}

/**
 * The first page in [from, end) that `vm`'s bitmap says is taken, or `end`; a word at a time.
 * Pages of [from, end) outside the arena of `from` count as not taken, as in linearTaken, and
 * so does every page of a range outside the arenas. [from, end) lies within one page table.
 */
export function nextLinearTaken(l: Layout, vm: number, from: number, end: number): number {
  const arena = arenaOf(from);
  if (arena === undefined) return end;
  const s = span(l, arena, vm);
  return nextSet(l.linearBits, s, from, Math.min(end, s.end));
}

/**
 * The bitmap span that indexes blocks of `space` starting at `page`: the common arenas for the
 * common space (-1), a VM's private window for its own space; undefined elsewhere (the DOS
 * arena), where blocks are not indexed by page.
 */
function indexedSpan(l: Layout, space: number, page: number): Span | undefined {
  const arena = arenaOf(page);
  if (arena === undefined || (arena === Arena.private) !== space >= 0) return undefined;
  return span(l, arena, space);
}

/** Marks or clears `page` as the first page of a block of `space`; false if not indexed. */
export function markBlockStart(l: Layout, space: number, page: number, on: boolean): boolean {
  const s = indexedSpan(l, space, page);
  if (s === undefined) return false;
  if (!(bit(l.blockStarts, s, page) !== on))
    fail('markBlockStart: start bit already in that state', page);
  setBits(l.blockStarts, s, page, 1, on);
  return true;
}

/**
 * Where a block of `space` holding `page` would start: the nearest marked start at or before
 * `page` within its arena (-1 if none); undefined when `page` is not in an indexed arena. Blocks
 * of one space never overlap, so no other block starts between a block's start and its pages:
 * the search passes at most the block's own pages, a word at a time.
 */
export function blockStartAtOrBefore(l: Layout, space: number, page: number): number | undefined {
  const s = indexedSpan(l, space, page);
  if (s === undefined) return undefined;
  if (!bit(l.linearBits, s, page)) return -1; // a page of a block is always taken
  return lastSetAtOrBefore(l.blockStarts, s, s.first, page);
}
