/**
 * The global and temporary V86 data areas and instance data — seed 003 and the Win 3.1
 * DDK. All init-only (VMM_ICODE) and synchronous.
 * - _Allocate_Global_V86_Data_Area(nBytes, flags): a block below the first V86 page, in
 *   every VM's V86 space, moving the first V86 page up. Returns its ring-0 linear address,
 *   or 0. With GVDAInquire: the largest size with that alignment that does not move the
 *   first V86 page (nBytes unused). 0 for: reserved flag bits; two alignment flags;
 *   GVDAReclaim with GVDAInstance; GVDAHighSysCritOK outside Sys_Critical_Init; a
 *   temporary block allocated; nBytes 0; no room below the video memory.
 *   GVDAReclaim (with GVDAPageAlign): the block's frames go to the free list and the nul
 *   page is mapped in their place. Without it the pages stay mapped [I]. GVDAInstance and
 *   GVDAOptInstance [I: the VMM chooses instance] add an instance item. An instance block is
 *   instance data for its own bytes only: a global block stays "the same data ... available to
 *   all virtual machines" (seed 003), and a VM's copy of instance data is a whole page, so an
 *   instance block takes pages of its own: it starts on a page and the next block after the
 *   page it ends in [I]. No UMBs exist, so GVDAHighSysCritOK allocates low memory;
 *   GVDAForceLow is accepted.
 * - _Allocate_Temp_V86_Data_Area(nBytes, flags): one paragraph-aligned, zero-filled block
 *   at the first V86 page; flags 0 or TVDANeedTilInitComplete. 0 if one exists.
 * - _Free_Temp_V86_Data_Area(): nonzero, or 0 if none is allocated.
 * - _AddInstanceItem(pInstDataStruc, flags): InstDataStruc as a Uint32Array of 5 (InstLinkF,
 *   InstLinkB = 0, InstLinAddr, InstSize, InstType); flags 0. Nonzero or 0.
 * After Init_Complete the instance snapshot is taken: each new VM gets its own copy. Instance
 * data added after that (GVDAInstance, GVDAOptInstance, _AddInstanceItem) is refused.
 */
import { assert } from '../assert.js';
import {
  ALWAYS_FIELD,
  ControlMessage,
  GVDADWordAlign,
  GVDAForceLow,
  GVDAHighSysCritOK,
  GVDAInquire,
  GVDAInstance,
  GVDAOptInstance,
  GVDAPageAlign,
  GVDAParaAlign,
  GVDAReclaim,
  GVDAWordAlign,
  GVDAZeroInit,
  INDOS_FIELD,
  OPTIONAL_FIELD,
  PG_SYS,
  PG_TYPE_SHIFT,
  P_WRITE,
  TVDANeedTilInitComplete,
} from '../constants.js';
import type { Context } from '../context.js';
import { copyFrame, pushFree } from '../frames.js';
import {
  BlockKind,
  FrameState,
  H,
  INSTANCE_MAX,
  LOCK_FREE_LIST,
  LOCK_MISC,
  PAGE_SIZE,
} from '../layout.js';
import { Arena } from '../linear.js';
import { isInstancePage, HMA_END_PAGE, V86_RAM_END_PAGE } from '../machine.js';
import {
  COMMON_SPACE,
  ensureTable,
  pteIndex,
  readPte,
  spaceLockOf,
  SYSTEM_VM,
  mapPage,
  pteAt,
  remapPage,
} from '../page_table.js';
import { pteFrame, ptePerms, ptePresent } from '../pte.js';
import { allocateBlock } from './alloc.js';
import {
  fail0,
  lockRange,
  takeFrames,
  unlockRange,
  type ServiceDef,
  hasReservedBits,
} from './service.js';
import { setFrame } from '../frames.js';

const ALIGN_FLAGS = GVDAWordAlign | GVDADWordAlign | GVDAParaAlign | GVDAPageAlign;
const ALLOWED =
  ALIGN_FLAGS |
  GVDAInstance |
  GVDAZeroInit |
  GVDAReclaim |
  GVDAInquire |
  GVDAHighSysCritOK |
  GVDAOptInstance |
  GVDAForceLow;
const V86_AREA_END = V86_RAM_END_PAGE * PAGE_SIZE;

function alignmentOf(flags: number): number {
  if (flags & (GVDAPageAlign | GVDAInstance | GVDAOptInstance)) return PAGE_SIZE;
  if (flags & GVDAParaAlign) return 16;
  if (flags & GVDADWordAlign) return 4;
  if (flags & GVDAWordAlign) return 2;
  return 1;
}

/**
 * Every device has processed Init_Complete: the instance snapshot new VMs copy is taken, so
 * instance data added now would have no copy (init-only services still run until Sys_VM_Init).
 */
const instanceSnapshotTaken = (ctx: Context): boolean =>
  Atomics.load(ctx.l.header, H.initCompleteDone) !== 0;
const INSTANCE_TOO_LATE = 'instance data after Init_Complete was processed';

function checkGlobalFlags(ctx: Context, flags: number): string | undefined {
  if (hasReservedBits(flags, ALLOWED)) return 'reserved flag bits';
  const align = flags & ALIGN_FLAGS;
  if ((align & (align - 1)) !== 0) return 'alignment flags are mutually exclusive';
  if (flags & GVDAReclaim && flags & GVDAInstance)
    return 'GVDAReclaim and GVDAInstance are mutually exclusive';
  if (
    flags & GVDAHighSysCritOK &&
    Atomics.load(ctx.l.header, H.phase) !== ControlMessage.Sys_Critical_Init
  ) {
    return 'GVDAHighSysCritOK only while processing Sys_Critical_Init';
  }
  if (ctx.l.header[H.tempV86Address] !== 0) return 'a temporary V86 data block is allocated';
  if (flags & (GVDAInstance | GVDAOptInstance) && instanceSnapshotTaken(ctx))
    return INSTANCE_TOO_LATE;
  return undefined;
}

export function allocateGlobalV86DataArea(ctx: Context, nBytes: number, flags: number): number {
  const bad = checkGlobalFlags(ctx, flags);
  if (bad !== undefined) return ctx.refuse(0, bad);
  const l = ctx.l;
  const align = alignmentOf(flags);
  ctx.locker.acquire(LOCK_MISC);
  const aligned = Math.ceil(l.header[H.gvdaNextByte]! / align) * align;
  if (flags & GVDAInquire) {
    const room = Math.max(0, l.header[H.firstV86Page]! * PAGE_SIZE - aligned);
    ctx.locker.release(LOCK_MISC);
    return room;
  }
  const positive = Number.isInteger(nBytes) && nBytes > 0; // before any arithmetic on it
  if (!positive || aligned + nBytes > V86_AREA_END) {
    ctx.locker.release(LOCK_MISC);
    return ctx.refuse(0, positive ? 'insufficient global V86 memory' : 'nBytes must be positive');
  }
  const end = aligned + nBytes;
  const instance = (flags & (GVDAInstance | GVDAOptInstance)) !== 0;
  l.header[H.gvdaNextByte] = instance ? Math.ceil(end / PAGE_SIZE) * PAGE_SIZE : end;
  l.header[H.firstV86Page] = Math.max(l.header[H.firstV86Page]!, Math.ceil(end / PAGE_SIZE));
  if (instance) addInstanceRange(l, aligned, nBytes);
  ctx.locker.release(LOCK_MISC);
  if (flags & GVDAZeroInit) zeroLinear(ctx, aligned, nBytes);
  if (flags & GVDAReclaim && flags & GVDAPageAlign) reclaimPages(ctx, aligned, end);
  return aligned;
}

function zeroLinear(ctx: Context, address: number, nBytes: number): void {
  const l = ctx.l;
  for (let at = address; at < address + nBytes;) {
    const page = Math.floor(at / PAGE_SIZE);
    const chunkEnd = Math.min((page + 1) * PAGE_SIZE, address + nBytes);
    const pte = readPte(l, SYSTEM_VM, page);
    if (ptePresent(pte))
      l.ram.fill(
        0,
        pteFrame(pte) * PAGE_SIZE + (at % PAGE_SIZE),
        pteFrame(pte) * PAGE_SIZE + (chunkEnd - page * PAGE_SIZE),
      );
    at = chunkEnd;
  }
}

/** GVDAReclaim: frames of the block's pages to the free list, the nul page in their place. */
function reclaimPages(ctx: Context, address: number, end: number): void {
  const l = ctx.l;
  const first = address / PAGE_SIZE;
  const count = Math.floor(end / PAGE_SIZE) - first;
  if (count <= 0) return;
  const nul = l.header[H.nulFrame]!;
  const locks = lockRange(ctx, SYSTEM_VM, first, count);
  ctx.locker.acquire(LOCK_FREE_LIST);
  for (let page = first; page < first + count; page++) {
    const index = pteIndex(l, SYSTEM_VM, page);
    const pte = pteAt(l, index);
    if (ptePresent(pte) && pteFrame(pte) !== nul) pushFree(l, pteFrame(pte));
    if (ptePresent(pte)) remapPage(l, ctx.locker, index, nul, ptePerms(pte));
    else mapPage(l, ctx.locker, index, nul, ptePerms(pte));
  }
  ctx.locker.release(LOCK_FREE_LIST);
  unlockRange(ctx, locks);
}

/** Records an instance range, merged with one it touches. Caller holds the misc lock. */
function addInstanceRange(l: Context['l'], address: number, size: number): boolean {
  const count = l.header[H.instanceCount]!;
  for (let i = 0; i < count; i++) {
    const a = l.instances[i * 2]!;
    const s = l.instances[i * 2 + 1]!;
    if (address <= a + s && a <= address + size) {
      const start = Math.min(a, address);
      l.instances[i * 2] = start;
      l.instances[i * 2 + 1] = Math.max(a + s, address + size) - start;
      return true;
    }
  }
  if (count >= INSTANCE_MAX) return false;
  l.instances[count * 2] = address;
  l.instances[count * 2 + 1] = size;
  l.header[H.instanceCount] = count + 1;
  return true;
}

export function addInstanceItem(ctx: Context, pInstDataStruc: unknown, flags: number): number {
  if (flags !== 0) return ctx.refuse(0, 'flags must be 0');
  if (!(pInstDataStruc instanceof Uint32Array) || pInstDataStruc.length < 5) {
    return ctx.refuse(0, 'pInstDataStruc is not a 5-dword InstDataStruc');
  }
  const [linkF, linkB, address, size, type] = pInstDataStruc;
  if (linkF !== 0 || linkB !== 0) return ctx.refuse(0, 'InstLinkF and InstLinkB must be 0');
  if (size === 0 || address! + size! > HMA_END_PAGE * PAGE_SIZE)
    return ctx.refuse(0, 'instance range not in V86 memory');
  if (type !== INDOS_FIELD && type !== ALWAYS_FIELD && type !== OPTIONAL_FIELD)
    return ctx.refuse(0, 'invalid InstType');
  if (instanceSnapshotTaken(ctx)) return ctx.refuse(0, INSTANCE_TOO_LATE);
  ctx.locker.acquire(LOCK_MISC);
  const ok = addInstanceRange(ctx.l, address!, size!);
  ctx.locker.release(LOCK_MISC);
  return ok ? 1 : ctx.refuse(0, 'too many instance items');
}

export function allocateTempV86DataArea(ctx: Context, nBytes: number, flags: number): number {
  if (flags !== 0 && flags !== TVDANeedTilInitComplete) return ctx.refuse(0, 'reserved flag bits');
  if (!Number.isInteger(nBytes) || nBytes <= 0) return ctx.refuse(0, 'nBytes must be positive');
  const l = ctx.l;
  ctx.locker.acquire(LOCK_MISC);
  const address = l.header[H.firstV86Page]! * PAGE_SIZE;
  const reason =
    l.header[H.tempV86Address] !== 0
      ? 'a temporary block is already allocated'
      : address + nBytes > V86_AREA_END
        ? 'insufficient V86 memory'
        : undefined;
  if (reason === undefined) {
    l.header[H.tempV86Address] = address;
    l.header[H.tempV86Bytes] = nBytes;
  }
  ctx.locker.release(LOCK_MISC);
  if (reason !== undefined) return ctx.refuse(0, reason);
  zeroLinear(ctx, address, nBytes);
  return address;
}

export function freeTempV86DataArea(ctx: Context): number {
  ctx.locker.acquire(LOCK_MISC);
  const had = ctx.l.header[H.tempV86Address] !== 0;
  ctx.l.header[H.tempV86Address] = 0;
  ctx.l.header[H.tempV86Bytes] = 0;
  ctx.locker.release(LOCK_MISC);
  return had ? 1 : ctx.refuse(0, 'no temporary block is allocated');
}

/**
 * After Init_Complete: copies every instance page of the system VM into a snapshot block
 * (system arena, one linear page per V86 page) from which new VMs get their copies.
 */
export function takeInstanceSnapshot(ctx: Context): void {
  const l = ctx.l;
  if (l.header[H.instanceCount] === 0) return;
  const made = allocateBlock(ctx, {
    pageCount: HMA_END_PAGE,
    arena: Arena.system,
    spaceVm: SYSTEM_VM,
    space: COMMON_SPACE,
    ownerVm: -1,
    pType: PG_SYS,
    perms: PG_SYS << PG_TYPE_SHIFT,
    kind: BlockKind.SNAPSHOT,
    flags: 0,
    committed: false,
    zero: false,
    locked: false,
    fixed: false,
  });
  assert(typeof made !== 'string', `takeInstanceSnapshot: ${String(made)}`);
  l.header[H.snapshotBlock] = made.block;
  for (let page = 0; page < HMA_END_PAGE; page++) {
    const source = readPte(l, SYSTEM_VM, page);
    if (!isInstancePage(l, page) || !ptePresent(source)) continue;
    const frames = takeFrames(ctx, 1, FrameState.BLOCK, made.block, false);
    assert(frames !== undefined, 'takeInstanceSnapshot: no frame for the snapshot');
    const frame = frames[0]!;
    copyFrame(l, pteFrame(source), frame);
    const lock = spaceLockOf(made.base + page, SYSTEM_VM);
    ctx.locker.acquire(lock);
    setFrame(l, frame, FrameState.BLOCK, made.block, made.base + page);
    const index = ensureTable(l, ctx.locker, SYSTEM_VM, made.base + page);
    mapPage(l, ctx.locker, index, frame, P_WRITE | (PG_SYS << PG_TYPE_SHIFT));
    ctx.locker.release(lock);
  }
}

export const _Allocate_Global_V86_Data_Area: ServiceDef = {
  name: '_Allocate_Global_V86_Data_Area',
  ordinal: 0xa8,
  slot: -1,
  async: false,
  initOnly: true,
  failure: fail0,
  impl: allocateGlobalV86DataArea as ServiceDef['impl'],
};
export const _Allocate_Temp_V86_Data_Area: ServiceDef = {
  name: '_Allocate_Temp_V86_Data_Area',
  ordinal: 0xa9,
  slot: -1,
  async: false,
  initOnly: true,
  failure: fail0,
  impl: allocateTempV86DataArea as ServiceDef['impl'],
};
export const _Free_Temp_V86_Data_Area: ServiceDef = {
  name: '_Free_Temp_V86_Data_Area',
  ordinal: 0xaa,
  slot: -1,
  async: false,
  initOnly: true,
  failure: fail0,
  impl: freeTempV86DataArea as ServiceDef['impl'],
};
export const _AddInstanceItem: ServiceDef = {
  name: '_AddInstanceItem',
  ordinal: 0xa6,
  slot: -1,
  async: false,
  initOnly: true,
  failure: fail0,
  impl: addInstanceItem as ServiceDef['impl'],
};
