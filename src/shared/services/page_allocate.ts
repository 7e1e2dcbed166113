/**
 * _PageAllocate(nPages, pType, VM, AlignMask, minPhys, maxPhys, PhysAddrPtr, flags) —
 * Win 3.1 DDK and Win95 DDK. Synchronous.
 * Returns { eax: handle, edx: ring-0 linear address }; the handle is the linear address
 * (Win95). Failure: { eax: 0, edx: 0 }.
 * pType: PG_VM or PG_HOOKED (shared arena, ring 3, VM must be a VM handle) or PG_SYS
 * (system arena, ring 0, VM must be 0). Flags: PageZeroInit, PageUseAlign (init only, with
 * PageFixed; AlignMask 0/1/3/7/0Fh/1Fh, frames in [minPhys, maxPhys), *PhysAddrPtr gets the
 * first frame's address), PageContig (with PageUseAlign), PageFixed, PageLocked,
 * PageLockedIfDP (not with PageLocked, not before Init_Complete; a no-op here: the pager is
 * not the MS-DOS pager), PageMapFreePhysReg (a free physical region: PG_SYS, every other
 * argument 0, init only, every page not present). Other bits are reserved.
 * Pages get frames at once [I]; short of frames, Request 1 goes to the callbacks first.
 * maxPhys = 0FFFFFFFFh becomes 1000h (16 MiB), as Win95 does (KB Q180579).
 */
import {
  PG_HOOKED,
  PG_SYS,
  PG_TYPE_SHIFT,
  PG_VM,
  P_USER,
  P_WRITE,
  PageContig,
  PageFixed,
  PageLocked,
  PageLockedIfDP,
  PageMapFreePhysReg,
  PageUseAlign,
  PageZeroInit,
  ControlMessage,
} from '../constants.js';
import { fail } from '../assert.js';
import { frameFixed, frameLockCount } from '../frames.js';
import { type Context, inInitialization } from '../context.js';
import { BlockKind } from '../layout.js';
import { systemPhase } from '../protocol.js';
import { Arena } from '../linear.js';
import { COMMON_SPACE, readPte, SYSTEM_VM } from '../page_table.js';
import { pteFrame, ptePhysAddr } from '../pte.js';
import { vmOfHandle } from '../machine.js';
import { allocateBlock, claimBlock, freeClaimedBlock, type PhysConstraint } from './alloc.js';
import { addRegion, regionOf } from './region.js';
import {
  failPair,
  type ServiceDef,
  type TwoRegisters,
  hasReservedBits,
  isDword,
} from './service.js';

const ALLOWED =
  PageZeroInit |
  PageUseAlign |
  PageContig |
  PageFixed |
  PageLocked |
  PageLockedIfDP |
  PageMapFreePhysReg;
const ALIGN_MASKS = [0x00, 0x01, 0x03, 0x07, 0x0f, 0x1f];
const PAGE_COUNT_MAX = 0x40000;

function checkArguments(
  ctx: Context,
  nPages: number,
  pType: number,
  vm: number,
  flags: number,
): string | undefined {
  if (hasReservedBits(flags, ALLOWED)) return 'reserved flag bits';
  if (!Number.isInteger(nPages) || nPages <= 0 || nPages > PAGE_COUNT_MAX)
    return 'invalid page count';
  if (pType !== PG_VM && pType !== PG_SYS && pType !== PG_HOOKED) return 'invalid page type';
  if (pType === PG_SYS && vm !== 0) return 'VM must be 0 for PG_SYS';
  if (pType !== PG_SYS && (!isDword(vm) || vmOfHandle(ctx.l, vm) < 0)) return 'invalid VM handle';
  if ((flags & PageLocked) !== 0 && (flags & PageLockedIfDP) !== 0) {
    return 'PageLocked and PageLockedIfDP are mutually exclusive';
  }
  if ((flags & PageLockedIfDP) !== 0 && systemPhase(ctx.l) < ControlMessage.Init_Complete) {
    return 'PageLockedIfDP not allowed before Init_Complete';
  }
  return undefined;
}

function checkAlign(
  ctx: Context,
  alignMask: number,
  minPhys: number,
  maxPhys: number,
  physAddrPtr: unknown,
  flags: number,
): PhysConstraint | string {
  if (!inInitialization(ctx.l)) return 'PageUseAlign only during initialization';
  if ((flags & PageFixed) === 0) return 'PageUseAlign requires PageFixed';
  if (!ALIGN_MASKS.includes(alignMask)) return 'invalid AlignMask';
  if (!(physAddrPtr instanceof Uint32Array) || physAddrPtr.length < 1)
    return 'PhysAddrPtr buffer too small';
  const max = maxPhys === 0xffffffff ? 0x1000 : maxPhys;
  if (!Number.isInteger(minPhys) || !Number.isInteger(max) || minPhys < 0 || max <= minPhys) {
    return 'invalid minPhys/maxPhys';
  }
  return {
    alignPages: alignMask + 1,
    minPage: minPhys,
    maxPage: max,
    contiguous: (flags & PageContig) !== 0,
  };
}

function allocateRegion(
  ctx: Context,
  nPages: number,
  pType: number,
  rest: unknown[],
): TwoRegisters {
  if (!inInitialization(ctx.l))
    return ctx.refuse(failPair(), 'free physical regions only during initialization');
  if (pType !== PG_SYS) return ctx.refuse(failPair(), 'a free physical region must be PG_SYS');
  if (rest.some((value) => value !== 0 && value !== undefined && value !== null)) {
    return ctx.refuse(failPair(), 'VM, AlignMask, minPhys, maxPhys and PhysAddrPtr must be 0');
  }
  const made = allocateBlock(ctx, {
    pageCount: nPages,
    arena: Arena.system,
    spaceVm: SYSTEM_VM,
    space: COMMON_SPACE,
    ownerVm: -1,
    pType,
    perms: P_WRITE | (PG_SYS << PG_TYPE_SHIFT),
    kind: BlockKind.REGION,
    flags: PageMapFreePhysReg,
    committed: false,
    zero: false,
    locked: false,
    fixed: false,
  });
  if (typeof made === 'string') return ctx.refuse(failPair(), made);
  if (!addRegion(ctx, made.block)) {
    // The block is not a region of the table: it goes, with its linear pages.
    if (claimBlock(ctx, made.block)) freeClaimedBlock(ctx, made.block, SYSTEM_VM);
    return ctx.refuse(failPair(), 'too many free physical regions');
  }
  if (!(regionOf(ctx.l, made.base) === made.block)) fail('_PageAllocate: region not published');
  const address = made.base * 4096;
  return { eax: address, edx: address };
}

export function pageAllocate(
  ctx: Context,
  nPages: number,
  pType: number,
  vm: number,
  alignMask: number,
  minPhys: number,
  maxPhys: number,
  physAddrPtr: Uint32Array | 0 | null | undefined,
  flags: number,
): TwoRegisters {
  const bad = checkArguments(ctx, nPages, pType, vm, flags);
  if (bad !== undefined) return ctx.refuse(failPair(), bad);
  if ((flags & PageMapFreePhysReg) !== 0) {
    if (flags !== PageMapFreePhysReg)
      return ctx.refuse(failPair(), 'PageMapFreePhysReg takes no other flag');
    return allocateRegion(ctx, nPages, pType, [vm, alignMask, minPhys, maxPhys, physAddrPtr]);
  }
  let phys: PhysConstraint | undefined;
  if ((flags & PageUseAlign) !== 0) {
    const checked = checkAlign(ctx, alignMask, minPhys, maxPhys, physAddrPtr, flags);
    if (typeof checked === 'string') return ctx.refuse(failPair(), checked);
    phys = checked;
  }
  const system = pType === PG_SYS;
  const made = allocateBlock(ctx, {
    pageCount: nPages,
    arena: system ? Arena.system : Arena.shared,
    spaceVm: SYSTEM_VM,
    space: COMMON_SPACE,
    ownerVm: system ? -1 : vmOfHandle(ctx.l, vm),
    pType,
    perms: P_WRITE | (system ? 0 : P_USER) | (pType << PG_TYPE_SHIFT),
    kind: BlockKind.ALLOCATION,
    flags,
    committed: true,
    zero: (flags & PageZeroInit) !== 0,
    locked: (flags & PageLocked) !== 0,
    fixed: (flags & PageFixed) !== 0,
    ...(phys === undefined ? {} : { phys }),
  });
  if (typeof made === 'string') return ctx.refuse(failPair(), made);
  const address = made.base * 4096;
  // the handle is not returned yet: no one else can have changed the first page
  const first = pteFrame(readPte(ctx.l, SYSTEM_VM, made.base));
  if (!((flags & PageFixed) === 0 || frameFixed(ctx.l, first))) fail('_PageAllocate: not fixed');
  if (!((flags & PageLocked) === 0 || frameLockCount(ctx.l, first) > 0))
    fail('_PageAllocate: lock');
  if (phys !== undefined && physAddrPtr instanceof Uint32Array) {
    physAddrPtr[0] = firstFrameAddress(ctx, made.base);
  }
  return { eax: address, edx: address };
}

/** The first frame's address; no lock: nobody else knows the new handle yet. */
function firstFrameAddress(ctx: Context, page: number): number {
  return ptePhysAddr(readPte(ctx.l, SYSTEM_VM, page));
}

export const _PageAllocate: ServiceDef = {
  name: '_PageAllocate',
  ordinal: 0x53,
  slot: -1,
  async: false,
  initOnly: false,
  failure: failPair,
  impl: pageAllocate as ServiceDef['impl'],
};
