/**
 * The global and temporary V86 data areas and instance data: what their services share (the
 * end of the V86 area, zero-filling, instance ranges) and the instance snapshot taken after
 * Init_Complete, from which each new VM gets its copy of instance data. No DDK service lives
 * here: _Allocate_Global_V86_Data_Area, _Allocate_Temp_V86_Data_Area,
 * _Free_Temp_V86_Data_Area and _AddInstanceItem each have their file. Seed 003.
 */
import { fail } from '../assert.js';
import { PG_SYS, PG_TYPE_SHIFT, P_WRITE } from '../constants.js';
import type { Context } from '../context.js';
import { copyFrame } from '../frames.js';
import { BlockKind, FrameState, H, INSTANCE_MAX, PAGE_SIZE } from '../layout.js';
import { Arena } from '../linear.js';
import { isInstancePage, HMA_END_PAGE, V86_RAM_END_PAGE } from '../machine.js';
import {
  COMMON_SPACE,
  ensureTable,
  readPte,
  spaceLockOf,
  SYSTEM_VM,
  mapPage,
} from '../page_table.js';
import { pteFrame, ptePresent } from '../pte.js';
import { allocateBlock } from './alloc.js';
import { takeFrames } from './service.js';
import { initCompleteDone } from '../phases.js';
import { setFrame } from '../frames.js';

export const V86_AREA_END = V86_RAM_END_PAGE * PAGE_SIZE;

/**
 * Every device has processed Init_Complete: the instance snapshot new VMs copy is taken, so
 * instance data added now would have no copy (init-only services still run until Sys_VM_Init).
 */
export const instanceSnapshotTaken = (ctx: Context): boolean => initCompleteDone(ctx.l);

export const INSTANCE_TOO_LATE = 'instance data after Init_Complete was processed';

/** Zero-fills `nBytes` of the system VM's V86 memory at `address` (a page not present: skipped). */
export function zeroLinear(ctx: Context, address: number, nBytes: number): void {
  const l = ctx.l;
  if (!(nBytes > 0)) fail('zeroLinear: nothing to fill', nBytes);
  if (!(address >= 0 && address + nBytes <= V86_AREA_END))
    fail('zeroLinear: outside V86 RAM', address);
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

/** Records an instance range, merged with one it touches. Caller holds the misc lock. */
export function addInstanceRange(l: Context['l'], address: number, size: number): boolean {
  const count = l.header[H.instanceCount]!;
  if (!(count >= 0 && count <= INSTANCE_MAX)) fail('addInstanceRange: instance count', count);
  if (!(size > 0)) fail('addInstanceRange: empty range', address);
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
  if (!(typeof made !== 'string')) fail(`takeInstanceSnapshot: ${String(made)}`);
  l.header[H.snapshotBlock] = made.block;
  for (let page = 0; page < HMA_END_PAGE; page++) {
    const source = readPte(l, SYSTEM_VM, page);
    if (!isInstancePage(l, page) || !ptePresent(source)) continue;
    const frames = takeFrames(ctx, 1, FrameState.BLOCK, made.block, false);
    if (!(frames !== undefined)) fail('takeInstanceSnapshot: no frame for the snapshot');
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
