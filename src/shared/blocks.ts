/**
 * The block table: one record per memory block (allocation, free physical region, mapping),
 * found by handle through an open-addressing hash of (address space, base page). A record is
 * made, claimed for destruction and freed under the block-table lock; the pages it covers
 * are guarded by their space locks (page_table.ts).
 */
import { assert } from './assert.js';
import { BK, BLOCK_WORDS, type BlockKindValue, H, type Layout } from './layout.js';

export const BLOCK_FREE = 0;
export const BLOCK_LIVE = 1;
export const BLOCK_DYING = 2;

export interface BlockFields {
  basePage: number;
  pageCount: number;
  pType: number;
  vm: number;
  flags: number;
  kind: BlockKindValue;
  space: number;
  physPage: number;
  actor: number;
  perms: number;
}

const hashKey = (space: number, basePage: number): number => ((space + 1) << 20) | basePage;

function hashSlot(l: Layout, key: number): number {
  return (Math.imul(key, 0x9e3779b1) >>> 0) & (l.blockHashSize - 1);
}

export const blockWord = (l: Layout, index: number, word: number): number =>
  l.blocks[index * BLOCK_WORDS + word]!;
export const blockState = (l: Layout, index: number): number =>
  Atomics.load(l.blocks, index * BLOCK_WORDS + BK.state);
export const setBlockWord = (l: Layout, index: number, word: number, value: number): void => {
  l.blocks[index * BLOCK_WORDS + word] = value;
};

/** Makes a live record; -1 when the table is full. Caller holds the block-table lock. */
export function createBlock(l: Layout, f: BlockFields): number {
  assert(f.pageCount > 0, 'createBlock: a block has at least one page');
  assert(findBlock(l, f.space, f.basePage) < 0, 'createBlock: a block already starts there');
  const max = l.options.blockMax;
  const hint = l.header[H.blockHint]!;
  let index = -1;
  for (let n = 0; n < max; n++) {
    const i = (hint + n) % max;
    if (blockState(l, i) === BLOCK_FREE) {
      index = i;
      break;
    }
  }
  if (index < 0) return -1;
  l.header[H.blockHint] = (index + 1) % max;
  const base = index * BLOCK_WORDS;
  l.blocks.fill(0, base, base + BLOCK_WORDS);
  l.blocks[base + BK.basePage] = f.basePage;
  l.blocks[base + BK.pageCount] = f.pageCount;
  l.blocks[base + BK.pType] = f.pType;
  l.blocks[base + BK.vm] = f.vm;
  l.blocks[base + BK.flags] = f.flags;
  l.blocks[base + BK.kind] = f.kind;
  l.blocks[base + BK.space] = f.space;
  l.blocks[base + BK.physPage] = f.physPage;
  l.blocks[base + BK.actor] = f.actor;
  l.blocks[base + BK.perms] = f.perms;
  l.blocks[base + BK.refCount] = 1;
  Atomics.store(l.blocks, base + BK.state, BLOCK_LIVE);
  hashInsert(l, hashKey(f.space, f.basePage), index);
  l.header[H.blockCount] = l.header[H.blockCount]! + 1;
  return index;
}

/** Frees a record. Caller holds the block-table lock. */
export function destroyBlock(l: Layout, index: number): void {
  assert(blockState(l, index) !== BLOCK_FREE, 'destroyBlock: block already free');
  const key = hashKey(blockWord(l, index, BK.space), blockWord(l, index, BK.basePage));
  hashRemove(l, key, index);
  Atomics.store(l.blocks, index * BLOCK_WORDS + BK.state, BLOCK_FREE);
  l.header[H.blockCount] = l.header[H.blockCount]! - 1;
}

/** The live or dying block that starts at `basePage` in `space`, or -1. */
export function findBlock(l: Layout, space: number, basePage: number): number {
  const key = hashKey(space, basePage);
  for (let slot = hashSlot(l, key), n = 0; n < l.blockHashSize; n++) {
    const entry = l.blockHash[slot]!;
    if (entry === 0) return -1;
    const base = (entry - 1) * BLOCK_WORDS;
    if (l.blocks[base + BK.basePage] === basePage && l.blocks[base + BK.space] === space) {
      return entry - 1;
    }
    slot = (slot + 1) & (l.blockHashSize - 1);
  }
  return -1;
}

/** The block of `kind`s in `space` whose pages contain `page`, or -1 (a linear scan). */
export function findBlockContaining(l: Layout, space: number, page: number): number {
  for (let index = 0; index < l.options.blockMax; index++) {
    if (blockState(l, index) !== BLOCK_LIVE) continue;
    const base = index * BLOCK_WORDS;
    if (l.blocks[base + BK.space] !== space) continue;
    const first = l.blocks[base + BK.basePage]!;
    if (page >= first && page < first + l.blocks[base + BK.pageCount]!) return index;
  }
  return -1;
}

function hashInsert(l: Layout, key: number, index: number): void {
  for (let slot = hashSlot(l, key), n = 0; n < l.blockHashSize; n++) {
    if (l.blockHash[slot] === 0) {
      l.blockHash[slot] = index + 1;
      return;
    }
    slot = (slot + 1) & (l.blockHashSize - 1);
  }
  assert(false, 'hashInsert: block hash full');
}

/** Linear-probing removal with backward shift, so lookups never scan past a hole. */
function hashRemove(l: Layout, key: number, index: number): void {
  const mask = l.blockHashSize - 1;
  let hole = hashSlot(l, key);
  while (l.blockHash[hole] !== index + 1) {
    assert(l.blockHash[hole] !== 0, 'hashRemove: block not in the hash');
    hole = (hole + 1) & mask;
  }
  l.blockHash[hole] = 0;
  for (let slot = (hole + 1) & mask; l.blockHash[slot] !== 0; slot = (slot + 1) & mask) {
    const moved = l.blockHash[slot]! - 1;
    const base = moved * BLOCK_WORDS;
    const home = hashSlot(l, hashKey(l.blocks[base + BK.space]!, l.blocks[base + BK.basePage]!));
    // Move the entry into the hole unless its home lies cyclically in (hole, slot].
    const homeAfterHole = (home - hole - 1 + l.blockHashSize) & mask;
    const slotAfterHole = (slot - hole - 1 + l.blockHashSize) & mask;
    if (homeAfterHole <= slotAfterHole) continue;
    l.blockHash[hole] = moved + 1;
    l.blockHash[slot] = 0;
    hole = slot;
  }
}
