/**
 * _PageReAllocate(hMem, nPages, flags) — Win 3.1 DDK. Synchronous.
 * Makes a block of nPages with the same type, owner and PageFixed/PageLocked-ness, copies
 * the old contents (unless PageNoCopy), frees the old block. Returns { eax: new handle,
 * edx: new address }; on failure { 0, 0 } and the old handle stays valid.
 * Flags: PageZeroInit (new pages zeroed), PageZeroReInit (every page zeroed), PageNoCopy,
 * PageLocked, PageLockedIfDP. Errors: invalid handle, insufficient memory, nPages = 0, a
 * block allocated with PageUseAlign, a free physical region, reserved flag bits.
 */
import { BLOCK_DYING, blockState, blockWord } from '../blocks.js';
import {
  PageFixed,
  PageLocked,
  PageLockedIfDP,
  PageNoCopy,
  PageUseAlign,
  PageZeroInit,
  PageZeroReInit,
} from '../constants.js';
import { fail } from '../assert.js';
import type { Context } from '../context.js';
import { BK, BlockKind, PAGE_SIZE } from '../layout.js';
import { Arena } from '../linear.js';
import { COMMON_SPACE, SYSTEM_VM } from '../page_table.js';
import { allocateBlock, claimBlock, freeClaimedBlock } from './alloc.js';
import {
  blockOfHandle,
  failPair,
  lockRange,
  unlockRange,
  type ServiceDef,
  type TwoRegisters,
  hasReservedBits,
} from './service.js';
import { readPte } from '../page_table.js';
import { pteFrame, ptePresent } from '../pte.js';

const ALLOWED = PageZeroInit | PageZeroReInit | PageNoCopy | PageLocked | PageLockedIfDP;

export function pageReAllocate(
  ctx: Context,
  hMem: number,
  nPages: number,
  flags: number,
): TwoRegisters {
  if (hasReservedBits(flags, ALLOWED)) return ctx.refuse(failPair(), 'reserved flag bits');
  if (!Number.isInteger(nPages) || nPages <= 0 || nPages > 0x40000)
    return ctx.refuse(failPair(), 'invalid page count');
  const old = blockOfHandle(ctx, hMem, ctx.vm);
  if (old < 0) return ctx.refuse(failPair(), 'invalid memory handle');
  const kind = blockWord(ctx.l, old, BK.kind);
  if (kind === BlockKind.REGION)
    return ctx.refuse(failPair(), 'a free physical region cannot be reallocated');
  if (kind !== BlockKind.ALLOCATION) return ctx.refuse(failPair(), 'invalid memory handle');
  const oldFlags = blockWord(ctx.l, old, BK.flags);
  if ((oldFlags & PageUseAlign) !== 0)
    return ctx.refuse(failPair(), 'block was allocated with PageUseAlign');
  const pType = blockWord(ctx.l, old, BK.pType);
  const made = allocateBlock(ctx, {
    pageCount: nPages,
    arena: blockWord(ctx.l, old, BK.vm) < 0 ? Arena.system : Arena.shared,
    spaceVm: SYSTEM_VM,
    space: COMMON_SPACE,
    ownerVm: blockWord(ctx.l, old, BK.vm),
    pType,
    perms: blockWord(ctx.l, old, BK.perms),
    kind: BlockKind.ALLOCATION,
    flags: (oldFlags & (PageFixed | PageLocked)) | (flags & PageLocked),
    committed: true,
    zero: (flags & (PageZeroInit | PageZeroReInit)) !== 0,
    locked: ((oldFlags | flags) & PageLocked) !== 0,
    fixed: (oldFlags & PageFixed) !== 0,
  });
  if (typeof made === 'string') return ctx.refuse(failPair(), made);
  if (!claimBlock(ctx, old)) {
    // Someone freed the old block meanwhile: undo, the handle was invalid after all.
    if (claimBlock(ctx, made.block)) freeClaimedBlock(ctx, made.block, SYSTEM_VM);
    return ctx.refuse(failPair(), 'invalid memory handle');
  }
  // claimed: the old block is ours alone now, and the new one is another block
  if (!(blockState(ctx.l, old) === BLOCK_DYING))
    fail('_PageReAllocate: old block not claimed', old);
  if (!(made.block !== old)) fail('_PageReAllocate: new block is the old one', old);
  if ((flags & (PageNoCopy | PageZeroReInit)) === 0) copyPages(ctx, old, made.base, nPages);
  freeClaimedBlock(ctx, old, SYSTEM_VM);
  ctx.hooks.freeListGrew();
  const address = made.base * PAGE_SIZE;
  return { eax: address, edx: address };
}

function copyPages(ctx: Context, old: number, newBase: number, nPages: number): void {
  const l = ctx.l;
  const oldBase = blockWord(l, old, BK.basePage);
  const count = Math.min(nPages, blockWord(l, old, BK.pageCount));
  const locks = lockRange(ctx, SYSTEM_VM, oldBase, count, [newBase, count]);
  for (let i = 0; i < count; i++) {
    const from = readPte(l, SYSTEM_VM, oldBase + i);
    const to = readPte(l, SYSTEM_VM, newBase + i);
    if (!ptePresent(from) || !ptePresent(to)) continue;
    if (!(pteFrame(from) !== pteFrame(to))) fail('_PageReAllocate: old and new share a frame', i);
    l.ram.copyWithin(
      pteFrame(to) * PAGE_SIZE,
      pteFrame(from) * PAGE_SIZE,
      (pteFrame(from) + 1) * PAGE_SIZE,
    );
  }
  unlockRange(ctx, locks);
}

export const _PageReAllocate: ServiceDef = {
  name: '_PageReAllocate',
  ordinal: 0x54,
  slot: -1,
  async: false,
  initOnly: false,
  failure: failPair,
  impl: pageReAllocate as ServiceDef['impl'],
};
