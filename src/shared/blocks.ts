/**
 * The block table: one record per memory block (allocation, free physical region, mapping),
 * found by handle through an open-addressing hash of (address space, base page), by any of
 * its pages through the start bits beside the linear bitmap, and, for DPMI 0800h mappings,
 * through a list per VM. Free slots form a stack. A record is made, claimed for destruction
 * and freed under the block-table lock; the pages it covers are guarded by their space locks
 * (page_table.ts). Every lookup costs the same on an empty machine and a full one.
 */
import { fail } from './assert.js';
import { VM, BK, BLOCK_WORDS, BlockKind, type BlockKindValue, H, type Layout } from './layout.js';
import { blockStartAtOrBefore, markBlockStart } from './linear.js';
import { vmLoad, vmSlot } from './vm_record.js';

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

/**
 * Claims a live block for destruction: it is DYING from now on (lookups of live blocks no
 * longer find it) until destroyBlock frees it. Caller holds the block-table lock.
 */
export function markBlockDying(l: Layout, index: number): void {
  if (!(blockState(l, index) === BLOCK_LIVE)) fail('markBlockDying: the block is not live', index);
  Atomics.store(l.blocks, index * BLOCK_WORDS + BK.state, BLOCK_DYING);
}

/** Adds `delta` to a live block's reference count; returns the new count, never below 1. */
export function addBlockRefs(l: Layout, index: number, delta: number): number {
  if (!(blockState(l, index) === BLOCK_LIVE)) fail('addBlockRefs: the block is not live', index);
  const count = l.blocks[index * BLOCK_WORDS + BK.refCount]! + delta;
  if (!(count >= 1)) fail('addBlockRefs: the last reference is dropped by markBlockDying', index);
  l.blocks[index * BLOCK_WORDS + BK.refCount] = count;
  return count;
}

/** Makes a live record; -1 when the table is full. Caller holds the block-table lock. */
export function createBlock(l: Layout, f: BlockFields): number {
  if (!(f.pageCount > 0)) fail('createBlock: a block has at least one page');
  if (!(findBlock(l, f.space, f.basePage) < 0)) fail('createBlock: a block already starts there');
  const index = takeSlot(l);
  if (index < 0) return -1;
  const base = index * BLOCK_WORDS;
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
  l.blocks[base + BK.committed] = 0;
  l.blocks[base + BK.next] = 0;
  l.blocks[base + BK.prev] = 0;
  Atomics.store(l.blocks, base + BK.state, BLOCK_LIVE);
  hashInsert(l, hashKey(f.space, f.basePage), index);
  markBlockStart(l, f.space, f.basePage, true);
  link(l, index, f.kind, f.space);
  l.header[H.blockCount] = l.header[H.blockCount]! + 1;
  if (!(findBlock(l, f.space, f.basePage) === index)) fail('createBlock: not found by its handle');
  return index;
}

/** Frees a record. Caller holds the block-table lock. */
export function destroyBlock(l: Layout, index: number): void {
  if (!(blockState(l, index) !== BLOCK_FREE)) fail('destroyBlock: block already free');
  const space = blockWord(l, index, BK.space);
  const basePage = blockWord(l, index, BK.basePage);
  hashRemove(l, hashKey(space, basePage), index);
  markBlockStart(l, space, basePage, false);
  unlink(l, index, blockWord(l, index, BK.kind), space);
  Atomics.store(l.blocks, index * BLOCK_WORDS + BK.state, BLOCK_FREE);
  giveSlot(l, index);
  l.header[H.blockCount] = l.header[H.blockCount]! - 1;
  if (!(l.header[H.blockCount]! >= 0)) fail('destroyBlock: block count below zero');
  if (!(findBlock(l, space, basePage) < 0)) fail('destroyBlock: still found by its handle', index);
}

/** A free slot: the last one freed, else the next never used; -1 when all are live. */
function takeSlot(l: Layout): number {
  const head = l.header[H.blockFreeHead]!;
  if (head !== 0) {
    const index = head - 1;
    if (!(blockState(l, index) === BLOCK_FREE)) fail('takeSlot: a free-stack slot is in use');
    l.header[H.blockFreeHead] = l.blocks[index * BLOCK_WORDS + BK.next]!;
    return index;
  }
  const highWater = l.header[H.blockHighWater]!;
  if (highWater >= l.options.blockMax) return -1;
  if (!(blockState(l, highWater) === BLOCK_FREE)) fail('takeSlot: a never-used slot is in use');
  l.header[H.blockHighWater] = highWater + 1;
  return highWater;
}

function giveSlot(l: Layout, index: number): void {
  if (!(blockState(l, index) === BLOCK_FREE)) fail('giveSlot: the slot is in use', index);
  if (!(index < l.header[H.blockHighWater]!)) fail('giveSlot: a slot never taken', index);
  l.blocks[index * BLOCK_WORDS + BK.next] = l.header[H.blockFreeHead]!;
  l.header[H.blockFreeHead] = index + 1;
}

/**
 * Where the list of blocks of `kind` in `space` keeps its head (index + 1), for the kinds kept
 * on lists: a VM's 0800h mappings, the global aliases and the _MapPhysToLinear aliases — the
 * kinds found by what they map rather than where they are. Guarded by the block-table lock.
 */
function listHeadWord(l: Layout, kind: number, space: number): [Int32Array, number] | undefined {
  if (kind === BlockKind.GLOBAL_ALIAS) return [l.header, H.aliasHead];
  if (kind === BlockKind.PHYS_MAP) return [l.header, H.physMapHead];
  if (kind !== BlockKind.DPMI_MAPPING) return undefined;
  if (!(space >= 0 && space < l.options.vmMax))
    fail('listHeadWord: a mapping lives in a VM', space);
  const { view, index } = vmSlot(l, space, VM.mappingHead);
  return [view, index];
}

/** Puts a block at the head of its kind's list, if its kind has one. */
function link(l: Layout, index: number, kind: number, space: number): void {
  const head = listHeadWord(l, kind, space);
  if (head === undefined) return;
  if (!(blockState(l, index) === BLOCK_LIVE)) fail('link: only a live block is listed', index);
  const [view, word] = head;
  const first = view[word]!;
  if (!(first !== index + 1)) fail('link: the block is on its list already', index);
  l.blocks[index * BLOCK_WORDS + BK.next] = first;
  l.blocks[index * BLOCK_WORDS + BK.prev] = 0;
  if (first !== 0) l.blocks[(first - 1) * BLOCK_WORDS + BK.prev] = index + 1;
  view[word] = index + 1;
}

function unlink(l: Layout, index: number, kind: number, space: number): void {
  const head = listHeadWord(l, kind, space);
  if (head === undefined) return;
  const [view, word] = head;
  const next = l.blocks[index * BLOCK_WORDS + BK.next]!;
  const prev = l.blocks[index * BLOCK_WORDS + BK.prev]!;
  if (prev === 0) {
    if (!(view[word] === index + 1)) fail('unlink: a block without a previous one is not the head');
    view[word] = next;
  } else {
    l.blocks[(prev - 1) * BLOCK_WORDS + BK.next] = next;
  }
  if (next !== 0) l.blocks[(next - 1) * BLOCK_WORDS + BK.prev] = prev;
  if (!(view[word] !== index + 1)) fail('unlink: the block is still the head of its list', index);
}

/**
 * The live or dying blocks on the list of `kind` (GLOBAL_ALIAS or PHYS_MAP; DPMI_MAPPING in
 * the VM `space`), last made first. Caller holds the block-table lock.
 */
export function listedBlocks(l: Layout, kind: BlockKindValue, space = -1): number[] {
  const head = listHeadWord(l, kind, space);
  if (!(head !== undefined)) fail('listedBlocks: blocks of this kind are not on a list', kind);
  const blocks = [];
  for (let entry = head[0][head[1]]!; entry !== 0; entry = blockWord(l, entry - 1, BK.next))
    blocks.push(entry - 1);
  return blocks;
}

/**
 * The live DPMI 0800h mapping of `vm` that maps all of physical pages [firstPhys,
 * firstPhys+count), or -1. Walks that VM's own mappings only. Caller holds the block lock.
 */
export function findMappingCovering(
  l: Layout,
  vm: number,
  firstPhys: number,
  count: number,
): number {
  for (let entry = vmLoad(l, vm, VM.mappingHead); entry !== 0;) {
    const index = entry - 1;
    const phys = blockWord(l, index, BK.physPage);
    const live = blockState(l, index) === BLOCK_LIVE;
    if (live && firstPhys >= phys && firstPhys + count <= phys + blockWord(l, index, BK.pageCount))
      return index;
    entry = blockWord(l, index, BK.next);
  }
  return -1;
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

/**
 * The live block in `space` whose pages contain `page`, or -1. In the arenas the linear bitmap
 * covers, the start bits name the only candidate; below 4 MiB (V86 memory, a few blocks per VM)
 * the table is scanned.
 */
export function findBlockContaining(l: Layout, space: number, page: number): number {
  const start = blockStartAtOrBefore(l, space, page);
  if (start === undefined) return scanBlockContaining(l, space, page);
  if (start < 0) return -1;
  const index = findBlock(l, space, start);
  if (!(index >= 0)) fail('findBlockContaining: a start bit without its block', start);
  const inside = page < start + blockWord(l, index, BK.pageCount);
  return inside && blockState(l, index) === BLOCK_LIVE ? index : -1;
}

function scanBlockContaining(l: Layout, space: number, page: number): number {
  const used = l.header[H.blockHighWater]!;
  for (let index = 0; index < used; index++) {
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
  if (!false) fail('hashInsert: block hash full');
}

/** Linear-probing removal with backward shift, so lookups never scan past a hole. */
function hashRemove(l: Layout, key: number, index: number): void {
  const mask = l.blockHashSize - 1;
  let hole = hashSlot(l, key);
  while (l.blockHash[hole] !== index + 1) {
    if (!(l.blockHash[hole] !== 0)) fail('hashRemove: block not in the hash');
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
