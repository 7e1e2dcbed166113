/**
 * Boot and VM life of the simulated machine: the system VM, its V86 memory, the nul page,
 * page directories of new VMs and their teardown. Runs on whichever thread owns the machine
 * (boot) or calls createVM/destroyVM; the services are in services/, not here.
 */
import { fail } from './assert.js';
import {
  BLOCK_LIVE,
  blockState,
  blockWord,
  createBlock,
  destroyBlock,
  findBlockContaining,
  type BlockFields,
} from './blocks.js';
import { P_PCD, P_USER, P_WRITE, PG_SYS, PG_TYPE_SHIFT, PG_VM, PG_INSTANCE } from './constants.js';
import {
  copyFrame,
  initFrames,
  isRamFrame,
  popFree,
  pushFree,
  removeFree,
  setFrame,
  zeroFrame,
  frameState,
  frameOwner,
} from './frames.js';
import {
  VM,
  BK,
  BlockKind,
  FrameState,
  H,
  type Layout,
  LOCK_BLOCKS,
  LOCK_FREE_LIST,
  LOCK_VM_FIRST,
  LOCK_VM_TABLE,
  VGA_END_PAGE,
  VGA_FIRST_PAGE,
  INSTANCE_MAX,
  PAGE_SIZE,
} from './layout.js';
import { Arena, releaseLinear, reserveLinear } from './linear.js';
import type { Locker } from './lock.js';
import {
  COMMON_SPACE,
  copyCommonPdes,
  ensureTable,
  pageDirOf,
  privateTables,
  readPte,
  SYSTEM_VM,
  spaceLockOf,
  clearPte,
  copyPte,
  mapPage,
  pteIndex,
} from './page_table.js';
import { publishPhase } from './protocol.js';
import { pteFrame, ptePresent } from './pte.js';
import {
  clearVm,
  VM_CREATING,
  VM_DESTROYING,
  VM_FREE,
  VM_LIVE,
  vmState,
  vmStore,
} from './vm_record.js';

/** The first V86 page at boot: below it is the global V86 data area (IVT, BIOS, DOS). */
export const FIRST_V86_PAGE_AT_BOOT = 0x10;
export const V86_RAM_END_PAGE = 0xa0;
export const HMA_FIRST_PAGE = 0x100;
export const HMA_END_PAGE = 0x110;
export const VM_HANDLE_BASE = 0xc0010000;
export const VM_HANDLE_STRIDE = 0x1000;

export const V86_PERMS = P_WRITE | P_USER | (PG_VM << PG_TYPE_SHIFT);
export const INSTANCE_PERMS = P_WRITE | P_USER | (PG_INSTANCE << PG_TYPE_SHIFT);
export const DEVICE_PERMS = P_WRITE | P_USER | P_PCD | (PG_SYS << PG_TYPE_SHIFT);
export const SYSTEM_PERMS = P_WRITE | (PG_SYS << PG_TYPE_SHIFT);

export const vmHandleOf = (vm: number): number => (VM_HANDLE_BASE + vm * VM_HANDLE_STRIDE) >>> 0;
export function vmOfHandle(l: Layout, handle: number): number {
  const offset = (handle >>> 0) - VM_HANDLE_BASE;
  if (offset < 0 || offset % VM_HANDLE_STRIDE !== 0) return -1;
  const vm = offset / VM_HANDLE_STRIDE;
  if (vm >= l.options.vmMax || vmState(l, vm) !== VM_LIVE) return -1;
  return vm;
}

/** Makes a block record under the block-table lock; -1 when the table is full. */
export function newBlock(l: Layout, locker: Locker, fields: BlockFields): number {
  if (!(fields.pageCount > 0)) fail('newBlock: no pages', fields.basePage);
  locker.acquire(LOCK_BLOCKS);
  const index = createBlock(l, fields);
  if (!(index < 0 || blockState(l, index) === BLOCK_LIVE)) fail('newBlock: block not live', index);
  locker.release(LOCK_BLOCKS);
  return index;
}

/** Maps one page of `vm` to `frame` (or a non-RAM physical page); false if no page table. */
function mapBootPage(
  l: Layout,
  locker: Locker,
  vm: number,
  page: number,
  physPage: number,
  perms: number,
): boolean {
  // only the booting thread runs: nothing may be mapped at a boot page yet
  if (!(readPte(l, vm, page) === 0)) fail('mapBootPage: page already mapped', page);
  locker.acquire(spaceLockOf(page, vm));
  const index = ensureTable(l, locker, vm, page);
  if (index >= 0) mapPage(l, locker, index, physPage, perms);
  locker.release(spaceLockOf(page, vm));
  if (!(index < 0 || pteFrame(readPte(l, vm, page)) === physPage)) fail('mapBootPage: not mapped');
  return index >= 0;
}

/** Builds the machine in a fresh buffer: frames, the system VM, the nul page. One thread. */
export function bootMachine(l: Layout, locker: Locker): void {
  initFrames(l);
  publishPhase(l, -1);
  l.header[H.snapshotBlock] = -1;
  l.header[H.firstV86Page] = FIRST_V86_PAGE_AT_BOOT;
  l.header[H.gvdaNextByte] = FIRST_V86_PAGE_AT_BOOT * PAGE_SIZE;
  locker.acquire(LOCK_FREE_LIST);
  for (let frame = 0; frame < V86_RAM_END_PAGE; frame++) removeFree(l, frame);
  for (let frame = HMA_FIRST_PAGE; frame < HMA_END_PAGE; frame++) removeFree(l, frame);
  const dir = popFree(l);
  if (!(dir >= 0)) fail('bootMachine: no frame for the system page directory');
  setFrame(l, dir, FrameState.PAGE_TABLE, SYSTEM_VM, -1);
  locker.release(LOCK_FREE_LIST);
  zeroFrame(l, dir);
  vmStore(l, SYSTEM_VM, VM.pageDirFrame, dir);
  vmStore(l, SYSTEM_VM, VM.handle, vmHandleOf(SYSTEM_VM) | 0);
  vmStore(l, SYSTEM_VM, VM.state, VM_LIVE);
  const v86 = newBlock(l, locker, {
    basePage: 0,
    pageCount: HMA_END_PAGE,
    pType: PG_VM,
    vm: SYSTEM_VM,
    flags: 0,
    kind: BlockKind.V86,
    space: SYSTEM_VM,
    physPage: 0,
    actor: -1,
    perms: V86_PERMS,
  });
  if (!(v86 >= 0)) fail('bootMachine: no block for the system VM V86 memory');
  for (let page = 0; page < HMA_END_PAGE; page++) {
    if (page >= VGA_END_PAGE && page < HMA_FIRST_PAGE) continue; // ROM: not present
    const isVga = page >= VGA_FIRST_PAGE && page < VGA_END_PAGE;
    const ok = mapBootPage(l, locker, SYSTEM_VM, page, page, isVga ? DEVICE_PERMS : V86_PERMS);
    if (!ok) fail('bootMachine: no frame for the V86 page table');
    if (!isVga) setFrame(l, page, FrameState.BLOCK, v86, page);
  }
  bootNulPage(l, locker);
}

function bootNulPage(l: Layout, locker: Locker): void {
  locker.acquire(LOCK_BLOCKS);
  const page = reserveLinear(l, Arena.system, SYSTEM_VM, 1);
  locker.release(LOCK_BLOCKS);
  locker.acquire(LOCK_FREE_LIST);
  const frame = popFree(l);
  if (!(frame >= 0)) fail('bootNulPage: no frame for the nul page');
  setFrame(l, frame, FrameState.NUL, -1, -1);
  locker.release(LOCK_FREE_LIST);
  l.header[H.nulFrame] = frame;
  l.header[H.nulPage] = page;
  const block = newBlock(l, locker, {
    basePage: page,
    pageCount: 1,
    pType: PG_SYS,
    vm: -1,
    flags: 0,
    kind: BlockKind.NUL,
    space: COMMON_SPACE,
    physPage: frame,
    actor: -1,
    perms: SYSTEM_PERMS,
  });
  if (!(block >= 0)) fail('bootNulPage: no block for the nul page');
  if (!mapBootPage(l, locker, SYSTEM_VM, page, frame, SYSTEM_PERMS))
    fail('bootNulPage: no page table');
}

/** Whether linear V86 page `page` holds instance data (a private copy in every VM). */
export function isInstancePage(l: Layout, page: number): boolean {
  const count = l.header[H.instanceCount]!;
  for (let i = 0; i < count && i < INSTANCE_MAX; i++) {
    const address = l.instances[i * 2]!;
    const size = l.instances[i * 2 + 1]!;
    if (size > 0 && page >= address >>> 12 && page <= (address + size - 1) >>> 12) return true;
  }
  return false;
}

/**
 * Creates a VM: its page directory with the common PDEs, its V86 space (the global area
 * shared with the system VM, instance pages copied from the snapshot, private pages zeroed).
 * Returns the VM id, or a reason it could not.
 */
export function createVmSpace(l: Layout, locker: Locker, actor: number): number | string {
  locker.acquire(LOCK_VM_TABLE);
  let vm = -1;
  for (let v = 1; v < l.options.vmMax; v++) {
    if (vmState(l, v) === VM_FREE) {
      vm = v;
      break;
    }
  }
  if (vm < 0) {
    locker.release(LOCK_VM_TABLE);
    return 'no free VM slot (vmMax reached)';
  }
  vmStore(l, vm, VM.state, VM_CREATING); // not yet given common PDEs by others
  locker.release(LOCK_VM_TABLE);
  locker.acquire(LOCK_VM_FIRST + vm);
  const result = buildVmSpace(l, locker, vm, actor);
  locker.release(LOCK_VM_FIRST + vm);
  if (typeof result === 'string') {
    teardownVmSpace(l, locker, vm, () => undefined); // a VM being made has no alias yet
    return result;
  }
  // the slot was ours from VM_CREATING on: no one else makes or destroys it meanwhile
  if (!(vmState(l, vm) === VM_LIVE)) fail('createVmSpace: VM not live after it was built', vm);
  if (!(vmOfHandle(l, vmHandleOf(vm)) === vm)) fail('createVmSpace: handle does not name it', vm);
  return vm;
}

function buildVmSpace(l: Layout, locker: Locker, vm: number, actor: number): number | string {
  if (!locker.holding(LOCK_VM_FIRST + vm)) fail('buildVmSpace: VM lock not held', vm);
  if (!(vmState(l, vm) === VM_CREATING)) fail('buildVmSpace: VM not being created', vm);
  locker.acquire(LOCK_FREE_LIST);
  const dir = popFree(l);
  if (dir >= 0) setFrame(l, dir, FrameState.PAGE_TABLE, vm, -1);
  locker.release(LOCK_FREE_LIST);
  if (dir < 0) return 'insufficient memory for the page directory';
  zeroFrame(l, dir);
  vmStore(l, vm, VM.pageDirFrame, dir);
  vmStore(l, vm, VM.handle, vmHandleOf(vm) | 0);
  vmStore(l, vm, VM.privateHint, 0);
  locker.acquire(LOCK_VM_TABLE);
  copyCommonPdes(l, locker, dir);
  vmStore(l, vm, VM.state, VM_LIVE);
  locker.release(LOCK_VM_TABLE);
  const first = l.header[H.firstV86Page]!;
  const count = l.options.vmV86Pages;
  const v86 = newBlock(l, locker, {
    basePage: 0,
    pageCount: HMA_END_PAGE,
    pType: PG_VM,
    vm,
    flags: 0,
    kind: BlockKind.V86,
    space: vm,
    physPage: 0,
    actor,
    perms: V86_PERMS,
  });
  if (v86 < 0) return 'block table full';
  for (let page = 0; page < HMA_END_PAGE; page++) {
    const reason = mapVmV86Page(l, locker, vm, page, first, count, v86);
    if (reason !== undefined) return reason;
  }
  return vm;
}

/** Maps one V86 page of a new VM. Caller holds the VM's space lock. */
function mapVmV86Page(
  l: Layout,
  locker: Locker,
  vm: number,
  page: number,
  first: number,
  count: number,
  v86: number,
): string | undefined {
  if (!locker.holding(LOCK_VM_FIRST + vm)) fail('mapVmV86Page: VM lock not held', vm);
  if (!(page < HMA_END_PAGE)) fail('mapVmV86Page: not a V86 page', page);
  const global = page < first || page >= first + count;
  const sysPte = readPte(l, SYSTEM_VM, page);
  if (global && !ptePresent(sysPte)) return undefined;
  const index = ensureTable(l, locker, vm, page);
  if (index < 0) return 'insufficient memory for a V86 page table';
  const instance = global && page < first && isInstancePage(l, page);
  if (global && !instance) {
    copyPte(l, locker, index, sysPte); // the global V86 data area: same frames in every VM
    return undefined;
  }
  locker.acquire(LOCK_FREE_LIST);
  const frame = popFree(l);
  if (frame >= 0) setFrame(l, frame, FrameState.BLOCK, v86, page);
  locker.release(LOCK_FREE_LIST);
  if (frame < 0) return 'insufficient memory for V86 pages';
  if (instance) copyFrame(l, snapshotFrameOf(l, page), frame);
  else zeroFrame(l, frame);
  mapPage(l, locker, index, frame, instance ? INSTANCE_PERMS : V86_PERMS);
  return undefined;
}

/** The frame holding the snapshot of instance page `page` (taken after Init_Complete). */
function snapshotFrameOf(l: Layout, page: number): number {
  const block = l.header[H.snapshotBlock]!;
  if (!(block >= 0)) fail('snapshotFrameOf: no instance snapshot was taken');
  const base = blockWord(l, block, BK.basePage);
  const pte = readPte(l, SYSTEM_VM, base + page);
  if (!ptePresent(pte)) fail('snapshotFrameOf: snapshot page not present');
  return pteFrame(pte);
}

/**
 * Frees everything that belongs to `vm`: its blocks in any space, its private page tables
 * and its page directory. The VM slot becomes free.
 */
export function teardownVmSpace(
  l: Layout,
  locker: Locker,
  vm: number,
  dropAliases: (vm: number) => void,
): number[] {
  if (!(vm !== SYSTEM_VM)) fail('teardownVmSpace: the system VM is never destroyed');
  locker.acquire(LOCK_VM_TABLE);
  const was = vmState(l, vm);
  if (!(was === VM_LIVE || was === VM_CREATING)) fail('teardownVmSpace: VM not live', was);
  vmStore(l, vm, VM.state, VM_DESTROYING); // no more common PDE updates
  locker.release(LOCK_VM_TABLE);
  const freed: number[] = [];
  dropAliases(vm); // before the VM lock: deleting an alias takes page-table locks of lower rank
  locker.acquire(LOCK_VM_FIRST + vm);
  for (;;) {
    locker.acquire(LOCK_BLOCKS);
    const block = findOwnedBlock(l, vm);
    locker.release(LOCK_BLOCKS);
    if (block < 0) break;
    // no spread: a block may hold more frames than a call takes arguments
    for (const frame of releasePrivateBlock(l, locker, vm, block)) freed.push(frame);
  }
  const dir = pageDirOf(l, vm);
  locker.acquire(LOCK_FREE_LIST);
  if (dir > 0 && frameState(l, dir) === FrameState.PAGE_TABLE && frameOwner(l, dir) === vm) {
    for (const table of privateTables(l, vm)) pushFree(l, table);
    pushFree(l, dir);
  }
  locker.release(LOCK_FREE_LIST);
  locker.release(LOCK_VM_FIRST + vm);
  locker.acquire(LOCK_VM_TABLE);
  if (!(vmState(l, vm) === VM_DESTROYING)) fail('teardownVmSpace: state changed under us', vm);
  clearVm(l, vm);
  if (!(vmState(l, vm) === VM_FREE)) fail('teardownVmSpace: slot not free', vm);
  locker.release(LOCK_VM_TABLE);
  return freed;
}

function findOwnedBlock(l: Layout, vm: number): number {
  for (let i = 0; i < l.options.blockMax; i++) {
    if (blockState(l, i) !== BLOCK_LIVE) continue;
    if (blockWord(l, i, BK.space) === vm) return i;
  }
  return -1;
}

/** Frees a private-space block of `vm` and its frames. Caller holds the VM space lock. */
function releasePrivateBlock(l: Layout, locker: Locker, vm: number, block: number): number[] {
  if (!locker.holding(LOCK_VM_FIRST + vm)) fail('releasePrivateBlock: VM lock not held', vm);
  if (!(blockWord(l, block, BK.space) === vm)) fail('releasePrivateBlock: not a block of the VM');
  const base = blockWord(l, block, BK.basePage);
  const count = blockWord(l, block, BK.pageCount);
  const freed: number[] = [];
  locker.acquire(LOCK_FREE_LIST);
  for (let page = base; page < base + count; page++) {
    const index = pteIndex(l, vm, page);
    if (index < 0) continue;
    const pte = clearPte(l, locker, index);
    const frame = pteFrame(pte);
    if (!ptePresent(pte) || !isRamFrame(l, frame)) continue;
    if (frameState(l, frame) === FrameState.BLOCK && frameOwner(l, frame) === block) {
      pushFree(l, frame);
      freed.push(frame);
    }
  }
  locker.release(LOCK_FREE_LIST);
  locker.acquire(LOCK_BLOCKS);
  if (blockWord(l, block, BK.kind) !== BlockKind.V86) releaseLinear(l, vm, base, count);
  destroyBlock(l, block);
  locker.release(LOCK_BLOCKS);
  return freed;
}

export { findBlockContaining };
