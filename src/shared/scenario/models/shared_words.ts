/**
 * The scenario words the built-in models share (actor.shared: SCENARIO_WORDS Int32 words):
 * which model owns which words and what each means, in one place so that two models never
 * overlap by accident. It is not a lock module: no word here is ever waited on (a failed
 * claim or pin makes the caller pick other pages, it never blocks).
 *
 *   word    0 ..   63  page-swap regions published for bus-master DMA (SWAP_WORDS entries)
 *   word   64 .. 1087  one pin word per page of each published region
 *   word 1280 .. 1551  the V86 instance-data agreement of v86_data.ts and dos_vm.ts
 */
import { fail } from '../../assert.js';
import { SCENARIO_WORDS } from '../../layout.js';

/**
 * Seed 001 meets seed 002. A page-swap device publishes its free physical region in an
 * entry; a DMA device pins pages of it while they are locked for a transfer. Pin word of
 * region page i: n >= 0 is the number of DMA pins, MOVING (-1) means the page-swap device
 * has claimed the page to move it. The page-swap device claims only unpinned pages
 * (CAS 0 -> MOVING) and a DMA device pins only unclaimed ones (CAS n -> n+1), so a page is
 * never moved while pinned. DMA data goes at [dataOffset, dataOffset + dataBytes) of a page;
 * the page-swap device's own token is at its start, so neither overwrites the other.
 */
export const SWAP_WORDS = {
  base: 0,
  entryMax: 4,
  entryWords: 8,
  /** Entry fields. */
  state: 0,
  nameHash: 1,
  firstPage: 2,
  pageCount: 3,
  pinBase: 4,
  /** Entry states. */
  EMPTY: 0,
  WRITING: 1,
  PUBLISHED: 2,
  pinsBase: 64,
  pinsPerRegion: 256,
  MOVING: -1,
  dataOffset: 0x800,
  dataBytes: 32,
} as const;

/**
 * Seed 003. The v86-data device publishes its blocks once (magic last) and one entry per
 * VM: the bytes that VM's copy of the GVDAInstance block must hold (patternBytes(seed)).
 * The DOS VM model writes them through its own view (state APPLIED) and checks them later.
 */
export const V86_WORDS = {
  base: 1280,
  magic: 0,
  instanceAddress: 1,
  instanceBytes: 2,
  initSeed: 3,
  globalAddress: 4,
  globalBytes: 5,
  globalSeed: 6,
  vmTable: 16,
  vmEntryWords: 4,
  vmEntryMax: 64,
  /** Entry fields. */
  handle: 0,
  seed: 1,
  state: 2,
  /** Entry states. */
  EMPTY: 0,
  PUBLISHED: 1,
  APPLIED: 2,
  WRITING: 3,
  MAGIC: 0x44363856, // 'V86D'
} as const;

const SWAP_END = SWAP_WORDS.pinsBase + SWAP_WORDS.entryMax * SWAP_WORDS.pinsPerRegion;
const V86_END = V86_WORDS.base + V86_WORDS.vmTable + V86_WORDS.vmEntryMax * V86_WORDS.vmEntryWords;
if (!(SWAP_WORDS.entryMax * SWAP_WORDS.entryWords <= SWAP_WORDS.pinsBase))
  fail('swap entries overlap');
if (!(SWAP_END <= V86_WORDS.base)) fail('swap pins overlap the V86 agreement');
if (!(V86_END <= SCENARIO_WORDS)) fail('V86 agreement runs past the scenario words');

/** FNV-1a of a device name, as an Int32 (names are matched by hash in the shared words). */
export function nameHash(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193);
  return hash | 0;
}

export interface SwapRegion {
  firstPage: number;
  pageCount: number;
  pinBase: number;
}

/** Publishes a region; its pin base, or -1 when every entry is taken. */
export function publishSwapRegion(
  shared: Int32Array,
  name: string,
  firstPage: number,
  pageCount: number,
): number {
  const w = SWAP_WORDS;
  if (!(pageCount <= w.pinsPerRegion)) fail('publishSwapRegion: region larger than its pin words');
  for (let entry = 0; entry < w.entryMax; entry++) {
    const at = w.base + entry * w.entryWords;
    if (Atomics.compareExchange(shared, at + w.state, w.EMPTY, w.WRITING) !== w.EMPTY) continue;
    const pinBase = w.pinsBase + entry * w.pinsPerRegion;
    shared[at + w.nameHash] = nameHash(name);
    shared[at + w.firstPage] = firstPage;
    shared[at + w.pageCount] = pageCount;
    shared[at + w.pinBase] = pinBase;
    Atomics.store(shared, at + w.state, w.PUBLISHED); // fields are visible before the state
    return pinBase;
  }
  return -1;
}

/** The region `name` published (any published region when `name` is undefined). */
export function findSwapRegion(shared: Int32Array, name?: string): SwapRegion | undefined {
  const w = SWAP_WORDS;
  const wanted = name === undefined ? undefined : nameHash(name);
  for (let entry = 0; entry < w.entryMax; entry++) {
    const at = w.base + entry * w.entryWords;
    if (Atomics.load(shared, at + w.state) !== w.PUBLISHED) continue;
    if (wanted !== undefined && shared[at + w.nameHash] !== wanted) continue;
    return {
      firstPage: shared[at + w.firstPage]!,
      pageCount: shared[at + w.pageCount]!,
      pinBase: shared[at + w.pinBase]!,
    };
  }
  return undefined;
}

/**
 * The page-swap device's side of the pin words: it claims a page (CAS 0 -> MOVING) before
 * moving it and releases it after. A page is claimed for one operation of the device at a
 * time, even when the region could not be published (pinBase -1: nobody pins it).
 */
export class RegionClaims {
  private readonly mine = new Set<number>();

  constructor(
    private readonly shared: Int32Array,
    private readonly pinBase: number,
    private readonly pageCount: number,
  ) {}

  /** Claims region page `index`; false if a DMA device pinned it or it is claimed already. */
  claim(index: number): boolean {
    if (this.mine.has(index)) return false;
    const word = this.pinBase + index;
    if (this.pinBase >= 0 && Atomics.compareExchange(this.shared, word, 0, SWAP_WORDS.MOVING) !== 0)
      return false;
    this.mine.add(index);
    return true;
  }

  has(index: number): boolean {
    return this.mine.has(index);
  }

  release(indexes: readonly number[]): void {
    for (const index of indexes) {
      if (!this.mine.delete(index)) fail('RegionClaims.release: page was not claimed');
      if (this.pinBase < 0) continue;
      const was = Atomics.compareExchange(this.shared, this.pinBase + index, SWAP_WORDS.MOVING, 0);
      if (!(was === SWAP_WORDS.MOVING))
        fail('RegionClaims.release: pin word changed under a claim');
    }
  }

  /** Claims a wanted page, searching from `start` (a random one spreads the moves). */
  claimFrom(start: number, wanted: (index: number) => boolean): number | undefined {
    for (let k = 0; k < this.pageCount; k++) {
      const index = (start + k) % this.pageCount;
      if (wanted(index) && this.claim(index)) return index;
    }
    return undefined;
  }

  /** Claims the highest wanted page. */
  claimHighest(wanted: (index: number) => boolean): number | undefined {
    for (let index = this.pageCount - 1; index >= 0; index--) {
      if (wanted(index) && this.claim(index)) return index;
    }
    return undefined;
  }
}

/** DMA side: pins a page that is not being moved; false if the page-swap device holds it. */
export function pinPage(shared: Int32Array, pinWord: number): boolean {
  for (;;) {
    const pins = Atomics.load(shared, pinWord);
    if (pins < 0) return false;
    if (Atomics.compareExchange(shared, pinWord, pins, pins + 1) === pins) return true;
  }
}

export function unpinPage(shared: Int32Array, pinWord: number): void {
  const was = Atomics.sub(shared, pinWord, 1);
  if (!(was > 0)) fail('unpinPage: page was not pinned');
}

/** Deterministic bytes of a seed: what a V86 instance block or global block must hold. */
export function patternBytes(seed: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = seed | 0 || 0x2545f491;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

export { sameBytes } from '../../page_token.js';

export const hex = (n: number): string => `${(n >>> 0).toString(16).toUpperCase()}h`;

export interface V86Blocks {
  instanceAddress: number;
  instanceBytes: number;
  initSeed: number;
  globalAddress: number;
  globalBytes: number;
  globalSeed: number;
}

const V86_FIELDS = [
  'instanceAddress',
  'instanceBytes',
  'initSeed',
  'globalAddress',
  'globalBytes',
  'globalSeed',
] as const;

/** Publishes the v86-data device's blocks; false if another device published first. */
export function publishV86Blocks(shared: Int32Array, blocks: V86Blocks): boolean {
  const w = V86_WORDS;
  if (Atomics.compareExchange(shared, w.base + w.magic, 0, -1) !== 0) return false;
  for (const field of V86_FIELDS) shared[w.base + w[field]] = blocks[field] | 0;
  Atomics.store(shared, w.base + w.magic, w.MAGIC); // fields are visible before the magic
  return true;
}

export function readV86Blocks(shared: Int32Array): V86Blocks | undefined {
  const w = V86_WORDS;
  if (Atomics.load(shared, w.base + w.magic) !== w.MAGIC) return undefined;
  const read = (field: (typeof V86_FIELDS)[number]): number => shared[w.base + w[field]]! >>> 0;
  return {
    instanceAddress: read('instanceAddress'),
    instanceBytes: read('instanceBytes'),
    initSeed: read('initSeed'),
    globalAddress: read('globalAddress'),
    globalBytes: read('globalBytes'),
    globalSeed: read('globalSeed'),
  };
}

const vmEntryAt = (entry: number): number =>
  V86_WORDS.base + V86_WORDS.vmTable + entry * V86_WORDS.vmEntryWords;

/** Publishes the instance bytes of one VM; false when the table is full. */
export function publishVmEntry(shared: Int32Array, handle: number, seed: number): boolean {
  const w = V86_WORDS;
  for (let entry = 0; entry < w.vmEntryMax; entry++) {
    const at = vmEntryAt(entry);
    if (Atomics.compareExchange(shared, at + w.state, w.EMPTY, w.WRITING) !== w.EMPTY) continue;
    shared[at + w.handle] = handle | 0;
    shared[at + w.seed] = seed | 0;
    Atomics.store(shared, at + w.state, w.PUBLISHED);
    return true;
  }
  return false;
}

export interface VmEntry {
  entry: number;
  handle: number;
  seed: number;
  state: number;
}

/** Every VM entry published or applied, in table order. */
export function vmEntries(shared: Int32Array): VmEntry[] {
  const w = V86_WORDS;
  const entries: VmEntry[] = [];
  for (let entry = 0; entry < w.vmEntryMax; entry++) {
    const at = vmEntryAt(entry);
    const state = Atomics.load(shared, at + w.state);
    if (state !== w.PUBLISHED && state !== w.APPLIED) continue;
    const handle = shared[at + w.handle]! >>> 0;
    entries.push({ entry, handle, seed: shared[at + w.seed]! >>> 0, state });
  }
  return entries;
}

/** The VM marks its entry applied once it has written its bytes. */
export function markVmEntryApplied(shared: Int32Array, entry: number): void {
  const at = vmEntryAt(entry) + V86_WORDS.state;
  Atomics.compareExchange(shared, at, V86_WORDS.PUBLISHED, V86_WORDS.APPLIED);
}

/** Destroy_VM: the entry of `handle` is free again. */
export function clearVmEntry(shared: Int32Array, handle: number): void {
  for (const { entry, handle: h } of vmEntries(shared)) {
    if (h === handle >>> 0) Atomics.store(shared, vmEntryAt(entry) + V86_WORDS.state, 0);
  }
}
