/**
 * Global aliases (_LinPageLock PAGEMAPGLOBAL): the frames of a range of a VM's pages mapped
 * again in the system arena, made, found and deleted here. An alias is deleted by
 * _LinPageUnLock(PAGEMAPGLOBAL), or before the frames it shows are freed. No DDK service
 * lives here.
 */
import { fail } from '../assert.js';
import {
  BLOCK_DYING,
  BLOCK_LIVE,
  blockState,
  blockWord,
  findBlock,
  listedBlocks,
} from '../blocks.js';
import { PAGEMAPGLOBAL, PG_SYS, PG_TYPE_SHIFT, P_PCD, P_WRITE } from '../constants.js';
import type { Context } from '../context.js';
import { isRamFrame } from '../frames.js';
import { BK, BlockKind, H, LOCK_BLOCKS } from '../layout.js';
import { Arena } from '../linear.js';
import { COMMON_SPACE, pteAt, pteIndex, spaceOf, SYSTEM_VM } from '../page_table.js';
import { pteFrame } from '../pte.js';
import { mapPhysPages, removeMapping, reserveMapping } from './mapping.js';
import { claimLiveBlock } from './service.js';

/** Maps the frames of [first, first+count) again in the system arena; the alias page or -1. */
export function makeGlobalAlias(ctx: Context, first: number, count: number): number {
  const l = ctx.l;
  const perms = P_WRITE | (PG_SYS << PG_TYPE_SHIFT);
  const made = reserveMapping(ctx, Arena.system, SYSTEM_VM, {
    pageCount: count,
    pType: PG_SYS,
    vm: spaceOf(first, ctx.vm),
    flags: PAGEMAPGLOBAL,
    kind: BlockKind.GLOBAL_ALIAS,
    space: COMMON_SPACE,
    physPage: first,
    actor: ctx.actor,
    perms,
  });
  if (made === undefined) return -1;
  Atomics.add(l.header, H.aliasCount, 1);
  // The source pages' locks are held while their frames are read: they cannot move meanwhile.
  const source = (i: number): number => pteFrame(pteAt(l, pteIndex(l, ctx.vm, first + i)));
  // Device memory behind the pages (a VGA window, a frame buffer) is mapped uncached, as always.
  const permsOf = (frame: number): number => (isRamFrame(l, frame) ? perms : perms | P_PCD);
  if (!mapPhysPages(ctx, SYSTEM_VM, made.base, source, count, permsOf, [first, count])) {
    // dropAliasesOf may have claimed it meanwhile: then it deletes it
    ctx.locker.acquire(LOCK_BLOCKS);
    const mine = blockState(l, made.block) === BLOCK_LIVE;
    if (mine) claimLiveBlock(ctx, made.block);
    ctx.locker.release(LOCK_BLOCKS);
    if (mine) deleteAlias(ctx, made.block);
    return -1;
  }
  if (!(blockWord(l, made.block, BK.kind) === BlockKind.GLOBAL_ALIAS))
    fail('makeGlobalAlias: kind');
  return made.base;
}

/** The live alias of `count` pages that starts at system page `page`, or -1. */
export function findGlobalAlias(ctx: Context, page: number, count: number): number {
  ctx.locker.acquire(LOCK_BLOCKS);
  const alias = findBlock(ctx.l, COMMON_SPACE, page);
  const valid =
    alias >= 0 &&
    blockState(ctx.l, alias) === BLOCK_LIVE &&
    blockWord(ctx.l, alias, BK.kind) === BlockKind.GLOBAL_ALIAS &&
    blockWord(ctx.l, alias, BK.pageCount) === count;
  ctx.locker.release(LOCK_BLOCKS);
  return valid ? alias : -1;
}

/**
 * Deletes alias `alias` found at `page`, unless it went meanwhile (with the block it copied):
 * then there is nothing to do.
 */
export function deleteGlobalAlias(ctx: Context, alias: number, page: number): void {
  ctx.locker.acquire(LOCK_BLOCKS);
  const live =
    findBlock(ctx.l, COMMON_SPACE, page) === alias &&
    blockState(ctx.l, alias) === BLOCK_LIVE &&
    blockWord(ctx.l, alias, BK.kind) === BlockKind.GLOBAL_ALIAS;
  if (live) claimLiveBlock(ctx, alias);
  ctx.locker.release(LOCK_BLOCKS);
  if (live) deleteAlias(ctx, alias);
}

/**
 * Deletes the global aliases of any page of [first, first+count) in `space`: called before
 * their frames are freed, so no alias outlives them. Caller holds no lock.
 */
export function dropAliasesOf(ctx: Context, space: number, first: number, count: number): void {
  const l = ctx.l;
  if (Atomics.load(l.header, H.aliasCount) === 0) return; // the common case: no alias at all
  const doomed: number[] = [];
  ctx.locker.acquire(LOCK_BLOCKS);
  for (const block of listedBlocks(l, BlockKind.GLOBAL_ALIAS)) {
    if (blockState(l, block) !== BLOCK_LIVE || blockWord(l, block, BK.vm) !== space) continue;
    const source = blockWord(l, block, BK.physPage);
    if (source < first + count && first < source + blockWord(l, block, BK.pageCount)) {
      claimLiveBlock(ctx, block); // claimed here, so that an unlock of it cannot delete it too
      doomed.push(block);
    }
  }
  ctx.locker.release(LOCK_BLOCKS);
  for (const block of doomed) deleteAlias(ctx, block);
}

/** Removes a claimed alias: its PTEs, linear pages and record. Caller holds no lock. */
function deleteAlias(ctx: Context, block: number): void {
  if (!(blockState(ctx.l, block) === BLOCK_DYING)) fail('deleteAlias: alias not claimed', block);
  removeMapping(ctx, block, SYSTEM_VM);
  const left = Atomics.sub(ctx.l.header, H.aliasCount, 1) - 1;
  if (!(left >= 0)) fail('deleteAlias: alias count below zero', left);
}
