/**
 * What ring-3 code of a VM may see (DESIGN.md §3, isolation): one rule shared by the services
 * that make ring-3 mappings (they refuse what breaks it) and the checker (it reports what
 * broke it anyway). A frame mapped at ring 3 (P_USER) in a VM is never a page table, never
 * the instance snapshot, and never a frame of a block private to another VM; no system-arena
 * page is ever ring-3 accessible. Not the mapping services themselves.
 */
import { blockWord } from './blocks.js';
import { SYSTEM_ARENA_END_PAGE, SYSTEM_ARENA_FIRST_PAGE } from './constants.js';
import { frameOwner, frameState, isRamFrame } from './frames.js';
import { BK, BlockKind, FrameState, type Layout } from './layout.js';

/** True for a linear page of the system arena (3 GiB to 4 GiB − 4 MiB): ring 0 only. */
export const inSystemArena = (page: number): boolean =>
  page >= SYSTEM_ARENA_FIRST_PAGE && page < SYSTEM_ARENA_END_PAGE;

/** True when [page, page+count) has a page in the system arena. */
export const overlapsSystemArena = (page: number, count: number): boolean =>
  page < SYSTEM_ARENA_END_PAGE && page + count > SYSTEM_ARENA_FIRST_PAGE;

/**
 * Why `frame` must not be mapped at ring 3 in the address space of `vm`, or undefined when
 * it may be. Device memory (not RAM) may. Reads the frame database without a lock: callers
 * that map hold the page-table lock of the target, and the checker runs at quiescent points.
 */
export function userMappingRefusal(l: Layout, frame: number, vm: number): string | undefined {
  if (!isRamFrame(l, frame)) return undefined;
  const state = frameState(l, frame);
  if (state === FrameState.PAGE_TABLE) return 'a page table (system data)';
  if (state !== FrameState.BLOCK) return undefined;
  const block = frameOwner(l, frame);
  if (block < 0) return undefined;
  if (blockWord(l, block, BK.kind) === BlockKind.SNAPSHOT)
    return 'the instance data snapshot (system data)';
  const owner = blockWord(l, block, BK.vm);
  if (owner >= 1 && owner !== vm) return `private to VM ${owner} (block ${block})`;
  return undefined;
}
