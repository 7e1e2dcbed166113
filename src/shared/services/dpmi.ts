/**
 * DPMI Int 31h as a register-level call — DPMI 1.0 and seed 004. Synchronous.
 * Takes { ax, bx, cx, dx, si, di } and returns them with cf; on failure cf = 1 and AX the
 * DPMI error code. Memory belongs to the calling VM's private arena.
 * - 0800h map physical address BX:CX, size SI:DI → BX:CX linear (+ the low 12 bits of the
 *   physical address). 8021h below 1 MiB, size 0 or wrap past 4 GiB; 8003h a range touching
 *   RAM. An existing mapping that covers the range is reused with a reference count [I,
 *   reference §4.2]; new PTEs are P|W|U|PCD.
 * - 0801h free the mapping at BX:CX (an address 0800h returned). 8025h otherwise.
 * - 0501h allocate BX:CX bytes → BX:CX linear, SI:DI handle (= the linear address).
 *   8021h size 0; 8012h no linear space; 8013h no physical memory.
 * - 0502h free the block whose handle is SI:DI. 8023h invalid handle.
 * - 0600h / 0601h lock / unlock the linear region BX:CX, size SI:DI. 8025h a page not
 *   committed; 8002h (unlock) a page not locked.
 * - anything else: 8001h unsupported function.
 */
import { assert } from '../assert.js';
import {
  BLOCK_LIVE,
  blockState,
  blockWord,
  findBlock,
  findBlockContaining,
  findMappingCovering,
  setBlockWord,
} from '../blocks.js';
import {
  DPMI_INVALID_HANDLE,
  DPMI_INVALID_LINEAR_ADDRESS,
  DPMI_INVALID_STATE,
  DPMI_INVALID_VALUE,
  DPMI_LINEAR_MEMORY_UNAVAILABLE,
  DPMI_PHYSICAL_MEMORY_UNAVAILABLE,
  DPMI_SYSTEM_INTEGRITY,
  DPMI_UNSUPPORTED_FUNCTION,
  PG_TYPE_SHIFT,
  PG_VM,
  P_PCD,
  P_USER,
  P_WRITE,
} from '../constants.js';
import type { Context } from '../context.js';
import { BK, BlockKind, HOLE_END_PAGE, LOCK_BLOCKS, PAGE_SIZE } from '../layout.js';
import { Arena, arenaOf } from '../linear.js';
import { allocateBlock, claimBlock, freeClaimedBlock } from './alloc.js';
import { lockPages, unlockPages } from './lin_page_lock.js';
import { mapPhysPages, removeMapping, reserveMapping } from './mapping.js';
import { claimLiveBlock, type ServiceDef } from './service.js';

export interface Registers {
  ax: number;
  bx: number;
  cx: number;
  dx: number;
  si: number;
  di: number;
  cf: 0 | 1;
}
export type RegistersIn = Partial<Omit<Registers, 'cf'>> & { ax: number };

const pair = (high: number, low: number): number =>
  (((high & 0xffff) << 16) | (low & 0xffff)) >>> 0;
const hi = (value: number): number => (value >>> 16) & 0xffff;
const lo = (value: number): number => value & 0xffff;
const USER_PERMS = P_WRITE | P_USER | (PG_VM << PG_TYPE_SHIFT);

function withRegs(regs: Registers, changes: Partial<Registers>): Registers {
  return { ...regs, ...changes, cf: changes.cf ?? 0 };
}

export function dpmiError(ctx: Context, regs: Registers, code: number, reason: string): Registers {
  return ctx.refuse({ ...regs, ax: code, cf: 1 }, reason);
}

const REGISTER_NAMES = ['ax', 'bx', 'cx', 'dx', 'si', 'di'] as const;

export function int31(ctx: Context, input: RegistersIn): Registers {
  const regs: Registers = { bx: 0, cx: 0, dx: 0, si: 0, di: 0, ...input, cf: 0 };
  // A register holds a number: anything else (a string, a BigInt) reads as 0, like one not given.
  for (const name of REGISTER_NAMES) if (typeof regs[name] !== 'number') regs[name] = 0;
  switch (regs.ax & 0xffff) {
    case 0x0800:
      return mapPhysical(ctx, regs);
    case 0x0801:
      return unmapPhysical(ctx, regs);
    case 0x0501:
      return allocateMemory(ctx, regs);
    case 0x0502:
      return freeMemory(ctx, regs);
    case 0x0600:
      return lockRegion(ctx, regs, true);
    case 0x0601:
      return lockRegion(ctx, regs, false);
    default:
      return dpmiError(ctx, regs, DPMI_UNSUPPORTED_FUNCTION, 'unsupported function');
  }
}

function mapPhysical(ctx: Context, regs: Registers): Registers {
  const phys = pair(regs.bx, regs.cx);
  const size = pair(regs.si, regs.di);
  if (phys < 0x100000) return dpmiError(ctx, regs, DPMI_INVALID_VALUE, 'address is below 1 MB');
  if (size === 0 || phys + size - 1 > 0xffffffff)
    return dpmiError(ctx, regs, DPMI_INVALID_VALUE, 'size 0 or range wraps past 4 GB');
  const firstPhys = Math.floor(phys / PAGE_SIZE);
  const count = Math.floor((phys + size - 1) / PAGE_SIZE) - firstPhys + 1;
  // Every page from 1 MiB (HOLE_END_PAGE) to the top of RAM is RAM, and the range starts at
  // 1 MiB or above: it touches RAM exactly when it starts below the top.
  assert(firstPhys >= HOLE_END_PAGE, 'mapPhysical: the range starts below 1 MiB');
  if (firstPhys < ctx.l.options.ramPages)
    return dpmiError(ctx, regs, DPMI_SYSTEM_INTEGRITY, 'range is host RAM');
  ctx.locker.acquire(LOCK_BLOCKS);
  let block = findMappingCovering(ctx.l, ctx.vm, firstPhys, count);
  if (block >= 0) setBlockWord(ctx.l, block, BK.refCount, blockWord(ctx.l, block, BK.refCount) + 1);
  ctx.locker.release(LOCK_BLOCKS);
  if (block < 0) block = makeMapping(ctx, firstPhys, count);
  if (block < 0)
    return dpmiError(ctx, regs, DPMI_LINEAR_MEMORY_UNAVAILABLE, 'no linear space for the mapping');
  const linear =
    blockWord(ctx.l, block, BK.basePage) * PAGE_SIZE +
    (firstPhys - blockWord(ctx.l, block, BK.physPage)) * PAGE_SIZE +
    (phys % PAGE_SIZE);
  return withRegs(regs, { bx: hi(linear), cx: lo(linear) });
}

function makeMapping(ctx: Context, firstPhys: number, count: number): number {
  const perms = USER_PERMS | P_PCD;
  const made = reserveMapping(ctx, Arena.private, ctx.vm, {
    pageCount: count,
    pType: PG_VM,
    vm: ctx.vm,
    flags: 0,
    kind: BlockKind.DPMI_MAPPING,
    space: ctx.vm,
    physPage: firstPhys,
    actor: ctx.actor,
    perms,
  });
  if (made === undefined) return -1;
  if (
    !mapPhysPages(
      ctx,
      ctx.vm,
      made.base,
      (i) => firstPhys + i,
      count,
      () => perms,
    )
  ) {
    removeMapping(ctx, made.block, ctx.vm);
    return -1;
  }
  return made.block;
}

function unmapPhysical(ctx: Context, regs: Registers): Registers {
  const page = Math.floor(pair(regs.bx, regs.cx) / PAGE_SIZE);
  const l = ctx.l;
  ctx.locker.acquire(LOCK_BLOCKS);
  // 0800h maps into the private arena only: elsewhere there is nothing to look up
  const found = arenaOf(page) === Arena.private ? findBlockContaining(l, ctx.vm, page) : -1;
  const block = found >= 0 && blockWord(l, found, BK.kind) === BlockKind.DPMI_MAPPING ? found : -1;
  const last = block >= 0 && blockWord(l, block, BK.refCount) === 1;
  if (block >= 0 && !last)
    setBlockWord(l, block, BK.refCount, blockWord(l, block, BK.refCount) - 1);
  if (last) claimLiveBlock(ctx, block);
  ctx.locker.release(LOCK_BLOCKS);
  if (block < 0)
    return dpmiError(ctx, regs, DPMI_INVALID_LINEAR_ADDRESS, 'not an address 0800h returned');
  if (last) removeMapping(ctx, block, ctx.vm);
  return withRegs(regs, {});
}

function allocateMemory(ctx: Context, regs: Registers): Registers {
  const size = pair(regs.bx, regs.cx);
  if (size === 0) return dpmiError(ctx, regs, DPMI_INVALID_VALUE, 'size 0');
  const made = allocateBlock(ctx, {
    pageCount: Math.ceil(size / PAGE_SIZE),
    arena: Arena.private,
    spaceVm: ctx.vm,
    space: ctx.vm,
    ownerVm: ctx.vm,
    pType: PG_VM,
    perms: USER_PERMS,
    kind: BlockKind.DPMI_MEMORY,
    flags: 0,
    committed: true,
    zero: false,
    locked: false,
    fixed: false,
  });
  if (typeof made === 'string') {
    const code = made.includes('linear')
      ? DPMI_LINEAR_MEMORY_UNAVAILABLE
      : DPMI_PHYSICAL_MEMORY_UNAVAILABLE;
    return dpmiError(ctx, regs, code, made);
  }
  const linear = made.base * PAGE_SIZE;
  return withRegs(regs, { bx: hi(linear), cx: lo(linear), si: hi(linear), di: lo(linear) });
}

function freeMemory(ctx: Context, regs: Registers): Registers {
  const handle = pair(regs.si, regs.di);
  ctx.locker.acquire(LOCK_BLOCKS);
  const block = handle % PAGE_SIZE === 0 ? findBlock(ctx.l, ctx.vm, handle / PAGE_SIZE) : -1;
  const valid =
    block >= 0 &&
    blockState(ctx.l, block) === BLOCK_LIVE &&
    blockWord(ctx.l, block, BK.kind) === BlockKind.DPMI_MEMORY;
  ctx.locker.release(LOCK_BLOCKS);
  if (!valid || !claimBlock(ctx, block))
    return dpmiError(ctx, regs, DPMI_INVALID_HANDLE, 'invalid handle');
  freeClaimedBlock(ctx, block, ctx.vm);
  ctx.hooks.freeListGrew();
  return withRegs(regs, {});
}

function lockRegion(ctx: Context, regs: Registers, lock: boolean): Registers {
  const linear = pair(regs.bx, regs.cx);
  const size = pair(regs.si, regs.di);
  const first = Math.floor(linear / PAGE_SIZE);
  const count = size === 0 ? 0 : Math.floor((linear + size - 1) / PAGE_SIZE) - first + 1;
  if (count === 0 || first + count > 0x100000)
    return dpmiError(ctx, regs, DPMI_INVALID_LINEAR_ADDRESS, 'invalid linear region');
  const reason = lock
    ? lockPages(ctx, ctx.vm, first, count, false)
    : unlockPages(ctx, ctx.vm, first, count, false);
  if (reason === undefined) return withRegs(regs, {});
  const code = reason.includes('not locked') ? DPMI_INVALID_STATE : DPMI_INVALID_LINEAR_ADDRESS;
  return dpmiError(ctx, regs, code, reason);
}

export const Int31: ServiceDef = {
  name: 'Int 31h',
  ordinal: 0x31,
  slot: -1,
  async: false,
  initOnly: false,
  failure: () => ({ ax: DPMI_INVALID_STATE, bx: 0, cx: 0, dx: 0, si: 0, di: 0, cf: 1 }),
  impl: int31 as ServiceDef['impl'],
};
