/**
 * The shared memory map. Every region and every word of the SharedArrayBuffer is named here,
 * and this is the only file that creates the buffer or computes where a region lies in it
 * (byte offsets). Inside a region, where a record's word lies is computed by the region's
 * owner only (the right-hand column): everyone else goes through the owner's accessors, and
 * the tidy test keeps it so. Words that cross threads are handshakes of protocol.ts.
 *
 *   header        HEADER_WORDS x i32     magic, version, options,     this file; the words
 *                                         phase, counters, V86 state   by use (see H)
 *   locks         lockCount x LOCK_WORDS  futex words with holder,     lock.ts
 *                                         epoch, rank and statistics
 *   actors        actorMax x ACTOR_WORDS  one per device or VM         actor_record.ts
 *                                         context: reenter count, …
 *   vms           vmMax x VM_WORDS        page-directory frame and     vm_record.ts
 *                                         handle of each VM
 *   frames        ramPages x FRAME_WORDS  the frame database: state,   frames.ts
 *                                         owner, lock count, …
 *   freeStack     ramPages x i32          free frames; H.freeCount is   frames.ts
 *                                         the top
 *   blocks        blockMax x BLOCK_WORDS  memory blocks: allocations,  blocks.ts
 *                                         regions, mappings
 *   blockHash     blockHashSize x i32     (space, base page) → block   blocks.ts
 *                                         index + 1, open addressing
 *   regions       REGION_MAX x i32        block indexes of free        services/region.ts
 *                                         physical regions
 *   instances     INSTANCE_MAX x 2 i32    instance data ranges         the instance-data service
 *   callbacks     CALLBACK_MAX x 4 i32    free-physical-region         kernel_callbacks.ts
 *                                         callbacks (actor, local id)
 *   lockdep       LOCKDEP_MAX x 8 i32     lock-order and interrupt-    lockdep.ts
 *                                         time violations seen
 *   scenario      SCENARIO_WORDS x i32    words a scenario's devices   the scenario's models
 *                                         share (their agreements)
 *   linearBits    bit per linear page     taken linear pages: shared+  linear.ts
 *                                         system arenas, then a
 *                                         private window per VM
 *   blockStarts   bit per linear page     the first page of each block linear.ts (for blocks.ts)
 *   deviceMemory  DEVICE_PAGES x 4 KiB    bytes of device memory above this file (physicalBytes)
 *                                         RAM
 *   ram           ramPages x 4 KiB        bytes of physical memory;    frames.ts (whole frames),
 *                                         PTEs live here too           memory_access.ts (bytes),
 *                                                                      page_table.ts (PTEs)
 *
 * It is not a place for policy: which lock guards what is lock.ts, what a PTE means is pte.ts.
 */
import { fail } from './assert.js';
import { type MachineOptions, resolveOptions } from './config.js';

export const MAGIC = 0x564d4d53; // 'VMMS'
export const LAYOUT_VERSION = 5;
export const PAGE_SIZE = 4096;
export const PTES_PER_TABLE = 1024;

/** Header words. */
export const H = {
  // Line 0: read on hot paths, written at boot or once (stop): never beside a busy counter.
  magic: 0,
  version: 1,
  ramPages: 2,
  vmMax: 3,
  blockMax: 4,
  actorMax: 5,
  vmV86Pages: 6,
  locking: 7,
  lockWaitMsMax: 8,
  phase: 9,
  nulFrame: 10,
  firstV86Page: 11,
  nulPage: 12,
  stop: 13, // the runtime asks every actor to stop its run
  frameBufferPages: 14,
  lockOrder: 15, // 0: an inversion throws; 1: it is recorded and the acquisition goes on
  // Line 1: written during init or rarely.
  gvdaNextByte: 16,
  tempV86Address: 17,
  tempV86Bytes: 18,
  initCompleteDone: 19,
  calbkCount: 20,
  instanceCount: 21,
  snapshotBlock: 22,
  interruptViolations: 23,
  regionCount: 24,
  actorCount: 25,
  lockTimeouts: 26,
  lockdepCount: 27, // entries taken in the lockdep table (may pass LOCKDEP_MAX: then dropped)
  // Line 2: the free list's count, written on every allocation and free (free-list lock).
  freeCount: 32,
  // Line 3: the block table's words (block-table lock), written on every block made or freed.
  blockCount: 48,
  blockHighWater: 49, // block slots ever used; slots at or above it are free and zero
  blockFreeHead: 50, // free block slots below the high-water mark: a stack through BK.next
  aliasHead: 51, // index + 1 of the first live _LinPageLock(PAGEMAPGLOBAL) alias
  physMapHead: 52, // index + 1 of the first live _MapPhysToLinear alias
  aliasCount: 53, // live _LinPageLock(PAGEMAPGLOBAL) aliases
  linearHintShared: 54,
  linearHintSystem: 55,
  // Line 4: notices between the workers and the coordinator.
  callbackPending: 64,
  callbackPendingRequest: 65,
  pressureRequests: 66, // Request 1 waits posted so far: the coordinator sleeps on this word
  calbkRotation: 67,
  // Line 5: the recording ticket (run --record), taken by every call of every actor.
  ticket: 80,
  // Line 6: fault injection (decremented on every lock acquisition while armed).
  faultCountdown: 96, // lock acquisitions left, machine-wide, before an armed fault fires
} as const;
/**
 * Eight cache lines. A word that every call writes (the free count, the block table's words,
 * the notices) has a line of its own, apart from the words every call reads (the phase, the
 * stop word): on a shared line each write would evict the line from every reader's core.
 */
export const HEADER_WORDS = 128;

/** Lock words (lock.ts is their only user). */
export const LK = {
  state: 0, // 0 free, else holder actor id + 1
  waiters: 1,
  epoch: 2,
  rank: 3,
  acquisitions: 4,
  contended: 5,
  waits: 6,
  waitUsTotal: 7,
  ownerDead: 8, // actor id + 1 of a holder that died holding the lock (robust lock), else 0
} as const;
/**
 * One lock per 64-byte cache line (8 words used, 8 padding): two locks that two threads take
 * at once must not share a line, or every acquire and release of one evicts the other's
 * (under fine locking, two devices on adjacent page tables scaled 1.4x instead of 1.9x).
 */
export const LOCK_WORDS = 16;
/** A cache line: locks and actor records are aligned to it (see LOCK_WORDS). */
const LINE_BYTES = 64;

/** Actor (context) words. */
export const AC = {
  state: 0, // ACTOR_FREE / ACTOR_LIVE / ACTOR_DEAD / ACTOR_CRASHED
  kind: 1, // ACTOR_DEVICE / ACTOR_VM / ACTOR_HOST
  vm: 2,
  initOrder: 3,
  reenterCount: 4,
  flags: 5, // ACTOR_GOT_INIT_COMPLETE, ACTOR_DROPPED
  lastService: 6,
  violations: 7, // (word 8 is unused: frames held out are found in the frame database)
  calls: 9, // service calls made (progress, and hang detection)
  pendingIrq: 10, // simulated interrupts raised and not yet delivered
  pressure: 11, // pages asked for by a Request 1 this actor waits on (0: none)
  pressureSeq: 12, // bumped by the coordinator when that Request 1 chain has run
  violationSlotsLow: 13, // bit per service slot 0-31 called synchronously at interrupt time
  violationSlotsHigh: 14, // … slots 32-63
  waitingLock: 15, // lock id + 1 while this actor sleeps on a held lock (the wait-for graph)
  page: 16, // the first linear page of the range its current service locked
  faultFired: 17, // an injected fault fired in this actor (src/workers/faults.ts)
  faultAtMs: 18, // when: wall-clock ms (timeOrigin + now) modulo 2^30
  mail: 19, // control-plane calls sent to this actor's worker (worker_host.ts bumps it)
} as const;
/** Two cache lines per actor: its words are written on every call by its own thread only. */
export const ACTOR_WORDS = 32;
export const ACTOR_FREE = 0;
export const ACTOR_LIVE = 1;
export const ACTOR_DEAD = 2;
/** The actor's thread died (threw out of a service, exited, was terminated) while live. */
export const ACTOR_CRASHED = 3;
export const ACTOR_DEVICE = 1;
export const ACTOR_VM = 2;
export const ACTOR_HOST = 3;
export const ACTOR_GOT_INIT_COMPLETE = 1;
export const ACTOR_DROPPED = 2;

/** VM words. */
export const VM = {
  state: 0, // 0 free, 1 live, 2 being created, 3 being destroyed
  pageDirFrame: 1,
  handle: 2,
  privateHint: 3,
  mappingHead: 4, // index + 1 of the first of its DPMI 0800h mappings (block-table lock)
} as const;
export const VM_WORDS = 8;
export const VM_FREE = 0;
export const VM_LIVE = 1;

/** Frame-database words, one record per physical page below ramPages. */
export const FR = {
  state: 0,
  flags: 1, // FRAME_FIXED
  owner: 2, // block index, VM id or actor id, by state
  lockCount: 3,
  lockedPage: 4, // linear page where the lock count went 0 → 1
  lockedSpace: 5, // address space of lockedPage (-1 common, else VM id)
  where: 6, // linear page it is mapped at, or was taken from (HELD)
  freePos: 7, // index in freeStack while FREE
} as const;
export const FRAME_WORDS = 8;

export const FrameState = {
  FREE: 0,
  BLOCK: 1, // a page of a memory block
  PAGE_TABLE: 2, // a page table or page directory
  REGION: 3, // a present page of a free physical region
  NUL: 4, // the system nul page
  HELD: 5, // taken out of a region by an _XchgFreePhysReg caller, accounted to it
  HOLE: 6, // not RAM: the adapter hole 0A0000h–0FFFFFh
} as const;
export type FrameStateValue = (typeof FrameState)[keyof typeof FrameState];
export const FRAME_FIXED = 1;

/** Block words. */
export const BK = {
  state: 0, // 0 free slot, 1 live
  basePage: 1,
  pageCount: 2,
  pType: 3,
  vm: 4, // owner VM id, -1 none
  flags: 5, // allocation flags as given
  kind: 6,
  space: 7, // -1 common (shared/system arena), else VM id (private/DOS arena)
  refCount: 8,
  physPage: 9, // first physical page of a physical mapping
  actor: 10, // allocating actor
  perms: 11, // PTE permission bits the block's pages get (P_WRITE | P_USER | type)
  committed: 12, // pages committed (sparse blocks)
  next: 13, // index + 1 of the next block in its list (free slots, blocks.ts's lists)
  prev: 14, // index + 1 of the previous block in its list
} as const;
export const BLOCK_WORDS = 16;

export const BlockKind = {
  ALLOCATION: 1, // _PageAllocate
  REGION: 2, // _PageAllocate(PageMapFreePhysReg)
  RESERVED: 3, // _PageReserve (committed page by page)
  V86: 4, // a VM's V86 memory
  PHYS_MAP: 5, // _MapPhysToLinear alias
  DPMI_MEMORY: 6, // Int 31h 0501h
  DPMI_MAPPING: 7, // Int 31h 0800h
  SNAPSHOT: 8, // instance data snapshot taken after Init_Complete
  NUL: 9, // the nul page handle
  GLOBAL_ALIAS: 10, // _LinPageLock(PAGEMAPGLOBAL)
} as const;
export type BlockKindValue = (typeof BlockKind)[keyof typeof BlockKind];

export const REGION_MAX = 64;
/** Linear pages the bitmap covers: the shared and system arenas, and a private window. */
export const COMMON_LINEAR_FIRST_PAGE = 0x80000;
export const COMMON_LINEAR_END_PAGE = 0xffc00;
export const COMMON_BIT_WORDS = (COMMON_LINEAR_END_PAGE - COMMON_LINEAR_FIRST_PAGE) / 32;
export const PRIVATE_LINEAR_FIRST_PAGE = 0x400;
export const PRIVATE_WINDOW_PAGES = 0x4000; // 64 MiB of each VM's private arena
export const PRIVATE_BIT_WORDS = PRIVATE_WINDOW_PAGES / 32;
export const INSTANCE_MAX = 64;
export const CALLBACK_MAX = 32;
/** Lock-order and interrupt-time violations lockdep keeps (the first of each kind and pair). */
export const LOCKDEP_MAX = 64;
/** One lockdep entry: what was wrong, the lock held (or -1), the lock taken, who, where. */
export const LD = { kind: 0, held: 1, taken: 2, actor: 3, service: 4 } as const;
export const LOCKDEP_WORDS = 8;
export const LOCKDEP_ORDER = 1; // a lock taken while one of equal or higher rank is held
export const LOCKDEP_INTERRUPT = 2; // a lock that is not interrupt-safe taken at interrupt time
export const CALLBACK_WORDS = 4;
export const SCENARIO_WORDS = 4096;

/** Device memory that is not RAM, above the top of RAM. VGA lives in the adapter hole. */
export function deviceWindows(
  o: MachineOptions,
): { name: string; physPage: number; pageCount: number }[] {
  return [
    { name: 'coprocessor', physPage: 0xc0000, pageCount: 16 },
    { name: 'frame buffer', physPage: 0xe0000, pageCount: o.frameBufferPages },
  ];
}
export const VGA_FIRST_PAGE = 0xa0;
export const VGA_END_PAGE = 0xc0;
export const HOLE_FIRST_PAGE = 0xa0;
export const HOLE_END_PAGE = 0x100;

interface Region {
  name: string;
  offset: number;
  bytes: number;
  align: number;
}

/** Byte offsets of every region, derived from the options. */
export function computeRegions(o: MachineOptions): Region[] {
  const blockHashSize = hashSizeFor(o.blockMax);
  const lockCount = lockCountFor(o.vmMax);
  const sizes: [string, number, number][] = [
    ['header', HEADER_WORDS * 4, 8],
    ['locks', lockCount * LOCK_WORDS * 4, LINE_BYTES],
    ['actors', o.actorMax * ACTOR_WORDS * 4, LINE_BYTES],
    ['vms', o.vmMax * VM_WORDS * 4, 8],
    ['frames', o.ramPages * FRAME_WORDS * 4, 8],
    ['freeStack', o.ramPages * 4, 8],
    ['blocks', o.blockMax * BLOCK_WORDS * 4, 8],
    ['blockHash', blockHashSize * 4, 8],
    ['regions', REGION_MAX * 4, 8],
    ['instances', INSTANCE_MAX * 2 * 4, 8],
    ['callbacks', CALLBACK_MAX * CALLBACK_WORDS * 4, 8],
    ['lockdep', LOCKDEP_MAX * LOCKDEP_WORDS * 4, 8],
    ['scenario', SCENARIO_WORDS * 4, 8],
    ['linearBits', linearBitWords(o) * 4, 8],
    ['blockStarts', linearBitWords(o) * 4, 8],
    ['deviceMemory', devicePages(o) * PAGE_SIZE, PAGE_SIZE],
    ['ram', o.ramPages * PAGE_SIZE, PAGE_SIZE],
  ];
  const regions: Region[] = [];
  let offset = 0;
  for (const [name, bytes, align] of sizes) {
    offset = Math.ceil(offset / align) * align;
    regions.push({ name, offset, bytes, align });
    offset += bytes;
  }
  return regions;
}

const linearBitWords = (o: MachineOptions): number =>
  COMMON_BIT_WORDS + o.vmMax * PRIVATE_BIT_WORDS;

const devicePages = (o: MachineOptions): number =>
  deviceWindows(o).reduce((sum, w) => sum + w.pageCount, 0);

export function hashSizeFor(blockMax: number): number {
  let size = 1;
  while (size < blockMax * 2) size *= 2;
  return size;
}

/** Lock ids: the fixed locks, then one per common page table (PDE 512–1023), one per VM. */
export const LOCK_GLOBAL = 0;
export const LOCK_VM_TABLE = 1;
export const LOCK_BLOCKS = 2;
export const LOCK_FREE_LIST = 3;
export const LOCK_MISC = 4;
export const LOCK_COMMON_FIRST = 8;
export const COMMON_PDE_FIRST = 512;
export const COMMON_PDE_COUNT = 512;
export const LOCK_VM_FIRST = LOCK_COMMON_FIRST + COMMON_PDE_COUNT;
export function lockCountFor(vmMax: number): number {
  return LOCK_VM_FIRST + vmMax;
}

function assertRegions(regions: Region[], total: number): void {
  let end = 0;
  for (const r of regions) {
    if (!(r.offset % r.align === 0)) fail(`layout: ${r.name} is not ${r.align}-aligned`);
    if (!(r.offset >= end)) fail(`layout: ${r.name} overlaps the region before it`);
    end = r.offset + r.bytes;
  }
  if (!(end === total)) fail('layout: regions do not add up to the buffer length');
}

/** The typed views over one machine's buffer. Built on every thread that attaches. */
export class Layout {
  readonly sab: SharedArrayBuffer;
  readonly options: MachineOptions;
  readonly header: Int32Array;
  readonly locks: Int32Array;
  readonly actors: Int32Array;
  readonly vms: Int32Array;
  readonly frames: Int32Array;
  readonly freeStack: Int32Array;
  readonly blocks: Int32Array;
  readonly blockHash: Int32Array;
  readonly regions: Int32Array;
  readonly instances: Int32Array;
  readonly callbacks: Int32Array;
  readonly lockdep: Int32Array;
  readonly linearBits: Int32Array;
  /** Same indexing as linearBits: a bit on each page where a block starts. */
  readonly blockStarts: Int32Array;
  /** Words a scenario's devices and VMs share; the kernel never reads them. */
  readonly scenarioWords: Int32Array;
  readonly deviceMemory: Uint8Array;
  readonly ram: Uint8Array;
  /** PTEs and PDEs: 32-bit words over the same bytes as `ram`. */
  readonly ramWords: Uint32Array;
  readonly lockCount: number;
  readonly blockHashSize: number;
  private readonly windows: { name: string; physPage: number; pageCount: number }[];

  private constructor(sab: SharedArrayBuffer, options: MachineOptions) {
    this.sab = sab;
    this.options = options;
    const regions = computeRegions(options);
    const total = regions.at(-1)!.offset + regions.at(-1)!.bytes;
    if (!(sab.byteLength === total)) fail('layout: buffer length does not match the options');
    assertRegions(regions, total);
    const at = (name: string): Region => regions.find((r) => r.name === name)!;
    const i32 = (name: string): Int32Array =>
      new Int32Array(sab, at(name).offset, at(name).bytes / 4);
    this.header = i32('header');
    this.locks = i32('locks');
    this.actors = i32('actors');
    this.vms = i32('vms');
    this.frames = i32('frames');
    this.freeStack = i32('freeStack');
    this.blocks = i32('blocks');
    this.blockHash = i32('blockHash');
    this.regions = i32('regions');
    this.instances = i32('instances');
    this.callbacks = i32('callbacks');
    this.lockdep = i32('lockdep');
    this.linearBits = i32('linearBits');
    this.blockStarts = i32('blockStarts');
    this.scenarioWords = i32('scenario');
    this.deviceMemory = new Uint8Array(sab, at('deviceMemory').offset, at('deviceMemory').bytes);
    this.ram = new Uint8Array(sab, at('ram').offset, at('ram').bytes);
    this.ramWords = new Uint32Array(sab, at('ram').offset, at('ram').bytes / 4);
    this.lockCount = lockCountFor(options.vmMax);
    this.windows = deviceWindows(options);
    this.blockHashSize = hashSizeFor(options.blockMax);
  }

  /** A fresh, zeroed buffer for these options, with the header written. */
  static create(options: Partial<MachineOptions> = {}): Layout {
    const resolved = resolveOptions(options);
    const regions = computeRegions(resolved);
    const total = regions.at(-1)!.offset + regions.at(-1)!.bytes;
    const layout = new Layout(new SharedArrayBuffer(total), resolved);
    const h = layout.header;
    h[H.magic] = MAGIC;
    h[H.version] = LAYOUT_VERSION;
    h[H.ramPages] = resolved.ramPages;
    h[H.vmMax] = resolved.vmMax;
    h[H.blockMax] = resolved.blockMax;
    h[H.actorMax] = resolved.actorMax;
    h[H.vmV86Pages] = resolved.vmV86Pages;
    h[H.locking] = resolved.locking === 'global' ? 0 : 1;
    h[H.lockWaitMsMax] = resolved.lockWaitMsMax;
    h[H.lockOrder] = resolved.lockOrder === 'assert' ? 0 : 1;
    h[H.frameBufferPages] = resolved.frameBufferPages;
    return layout;
  }

  /** Views over a buffer another thread created; checks magic and version first. */
  static attach(sab: SharedArrayBuffer): Layout {
    if (!(sab.byteLength >= HEADER_WORDS * 4)) fail('layout: buffer too small to be a machine');
    const h = new Int32Array(sab, 0, HEADER_WORDS);
    if (!(h[H.magic] === MAGIC)) fail('layout: buffer is not a vmmsim machine (bad magic)');
    if (!(h[H.version] === LAYOUT_VERSION)) fail('layout: buffer has another layout version');
    const options: MachineOptions = {
      ramPages: h[H.ramPages]!,
      vmMax: h[H.vmMax]!,
      blockMax: h[H.blockMax]!,
      actorMax: h[H.actorMax]!,
      vmV86Pages: h[H.vmV86Pages]!,
      locking: h[H.locking] === 0 ? 'global' : 'fine',
      lockWaitMsMax: h[H.lockWaitMsMax]!,
      lockOrder: h[H.lockOrder] === 0 ? 'assert' : 'report',
      frameBufferPages: h[H.frameBufferPages]!,
    };
    return new Layout(sab, options);
  }

  /** Byte offset in `ram` or `deviceMemory` of a physical page, or undefined if none. */
  physicalBytes(physPage: number): { bytes: Uint8Array; offset: number } | undefined {
    if (physPage >= 0 && physPage < this.options.ramPages) {
      return { bytes: this.ram, offset: physPage * PAGE_SIZE };
    }
    let base = 0;
    for (const w of this.windows) {
      if (physPage >= w.physPage && physPage < w.physPage + w.pageCount) {
        return { bytes: this.deviceMemory, offset: (base + physPage - w.physPage) * PAGE_SIZE };
      }
      base += w.pageCount;
    }
    return undefined;
  }
}
