/**
 * The frame database and the free list. One record per physical page below ramPages says
 * where that frame is (FrameState) and who owns it; the free list is a stack with O(1)
 * removal of any frame (each free frame knows its position).
 * Callers hold the free-list lock for every function that touches the stack; a frame's record
 * is written only by whoever holds the lock of the place the frame is in.
 */
import { fail } from './assert.js';
import {
  FR,
  FRAME_FIXED,
  FRAME_WORDS,
  FrameState,
  type FrameStateValue,
  H,
  HOLE_END_PAGE,
  HOLE_FIRST_PAGE,
  type Layout,
  PAGE_SIZE,
} from './layout.js';

export const frameState = (l: Layout, frame: number): number =>
  l.frames[frame * FRAME_WORDS + FR.state]!;
export const frameOwner = (l: Layout, frame: number): number =>
  l.frames[frame * FRAME_WORDS + FR.owner]!;
export const frameLockCount = (l: Layout, frame: number): number =>
  l.frames[frame * FRAME_WORDS + FR.lockCount]!;
/** The linear page the frame is mapped at, or was taken from (HELD); -1 when none. */
export const frameWhere = (l: Layout, frame: number): number =>
  l.frames[frame * FRAME_WORDS + FR.where]!;
/** Where the frame's lock count went 0 → 1: the linear page and its space (-1 common). */
export const frameLockedPage = (l: Layout, frame: number): number =>
  l.frames[frame * FRAME_WORDS + FR.lockedPage]!;
export const frameLockedSpace = (l: Layout, frame: number): number =>
  l.frames[frame * FRAME_WORDS + FR.lockedSpace]!;
/** The frame's position in the free stack while FREE, else -1. */
export const frameFreePos = (l: Layout, frame: number): number =>
  l.frames[frame * FRAME_WORDS + FR.freePos]!;
/** The frame at `position` of the free stack (below freeCount). */
export const freeStackAt = (l: Layout, position: number): number => l.freeStack[position]!;
export const frameFixed = (l: Layout, frame: number): boolean =>
  (l.frames[frame * FRAME_WORDS + FR.flags]! & FRAME_FIXED) !== 0;
export const isRamFrame = (l: Layout, frame: number): boolean =>
  frame >= 0 && frame < l.options.ramPages && (frame < HOLE_FIRST_PAGE || frame >= HOLE_END_PAGE);

/** Whether `actor` holds frames out of a region (taken with _XchgFreePhysReg, not put back). */
export function holdsFrames(l: Layout, actor: number): boolean {
  for (let frame = 0; frame < l.options.ramPages; frame++) {
    if (frameState(l, frame) === FrameState.HELD && frameOwner(l, frame) === actor) return true;
  }
  return false;
}

/** Records where a frame is now. */
export function setFrame(
  l: Layout,
  frame: number,
  state: FrameStateValue,
  owner: number,
  where: number,
): void {
  if (!isRamFrame(l, frame)) fail('setFrame: not a RAM frame', frame);
  if (!(state !== FrameState.FREE)) fail('setFrame: use pushFree to free a frame');
  const base = frame * FRAME_WORDS;
  l.frames[base + FR.state] = state;
  l.frames[base + FR.owner] = owner;
  l.frames[base + FR.where] = where;
}

/** Marks a frame that is not free fixed (PageFixed) or not. */
export function setFrameFixed(l: Layout, frame: number, fixed: boolean): void {
  if (!isRamFrame(l, frame)) fail('setFrameFixed: not a RAM frame', frame);
  const base = frame * FRAME_WORDS;
  if (!(l.frames[base + FR.state] !== FrameState.FREE)) fail('setFrameFixed: frame is free', frame);
  const flags = l.frames[base + FR.flags]!;
  l.frames[base + FR.flags] = fixed ? flags | FRAME_FIXED : flags & ~FRAME_FIXED;
}

/** Adds one to a frame's lock count; remembers where it was locked when it goes 0 → 1. */
export function lockFrame(l: Layout, frame: number, page: number, space: number): void {
  if (!isRamFrame(l, frame)) fail('lockFrame: not a RAM frame', frame);
  const base = frame * FRAME_WORDS;
  if (!(l.frames[base + FR.state] !== FrameState.FREE)) fail('lockFrame: frame is free', frame);
  // Atomic: a frame reachable from two pages (a page and its global alias) is locked under
  // either page's space lock, so two threads may change its count at once.
  const count = Atomics.add(l.frames, base + FR.lockCount, 1);
  if (!(count >= 0)) fail('lockFrame: negative lock count', frame);
  if (count === 0) {
    // The frame's home (lock_pages.ts homeOf): the same whichever page locked it.
    l.frames[base + FR.lockedPage] = page;
    l.frames[base + FR.lockedSpace] = space;
  }
}

/** Takes one from a frame's lock count; false (and no change) if it is not locked. */
export function unlockFrame(l: Layout, frame: number): boolean {
  if (!isRamFrame(l, frame)) fail('unlockFrame: not a RAM frame', frame);
  const base = frame * FRAME_WORDS;
  if (!(l.frames[base + FR.state] !== FrameState.FREE)) fail('unlockFrame: frame is free', frame);
  const slot = base + FR.lockCount;
  for (let count = Atomics.load(l.frames, slot); count > 0;) {
    const seen = Atomics.compareExchange(l.frames, slot, count, count - 1);
    if (seen === count) return true;
    count = seen; // another thread changed it meanwhile (see lockFrame): try again
  }
  return false;
}

export const freeCount = (l: Layout): number => Atomics.load(l.header, H.freeCount);

/** The free count, read plainly: the caller holds the free-list lock (no one else moves it). */
export const freeCountLocked = (l: Layout): number => l.header[H.freeCount]!;

/** Puts a frame on the free list. Caller holds the free-list lock. */
export function pushFree(l: Layout, frame: number): void {
  if (!isRamFrame(l, frame)) fail('pushFree: not a RAM frame', frame);
  const base = frame * FRAME_WORDS;
  if (!(l.frames[base + FR.state] !== FrameState.FREE)) fail('pushFree: frame already free', frame);
  const top = l.header[H.freeCount]!;
  if (!(top < l.options.ramPages)) fail('pushFree: free list overflow');
  l.freeStack[top] = frame;
  l.frames[base + FR.state] = FrameState.FREE;
  l.frames[base + FR.owner] = -1;
  l.frames[base + FR.flags] = 0;
  l.frames[base + FR.lockCount] = 0;
  l.frames[base + FR.where] = -1;
  l.frames[base + FR.freePos] = top;
  Atomics.store(l.header, H.freeCount, top + 1);
}

/** Takes a specific free frame off the free list. Caller holds the free-list lock. */
export function removeFree(l: Layout, frame: number): void {
  const base = frame * FRAME_WORDS;
  if (!(l.frames[base + FR.state] === FrameState.FREE)) fail('removeFree: frame not free', frame);
  const position = l.frames[base + FR.freePos]!;
  const last = l.header[H.freeCount]! - 1;
  if (!(position >= 0 && position <= last)) fail('removeFree: position off the free list', frame);
  if (!(l.freeStack[position] === frame))
    fail('removeFree: free list does not hold the frame', frame);
  const moved = l.freeStack[last]!;
  const movedFree = moved === frame || l.frames[moved * FRAME_WORDS + FR.state] === FrameState.FREE;
  if (!movedFree) fail('removeFree: the top of the free list is not a free frame', moved);
  l.freeStack[position] = moved;
  l.frames[moved * FRAME_WORDS + FR.freePos] = position;
  l.frames[base + FR.state] = FrameState.BLOCK; // the caller's setFrame says where it goes
  l.frames[base + FR.freePos] = -1;
  Atomics.store(l.header, H.freeCount, last);
}

/** Pops any free frame, or -1 when the list is empty. Caller holds the free-list lock. */
export function popFree(l: Layout): number {
  const count = l.header[H.freeCount]!;
  if (!(count >= 0 && count <= l.options.ramPages)) fail('popFree: free count out of range', count);
  if (count === 0) return -1;
  const frame = l.freeStack[count - 1]!;
  removeFree(l, frame);
  if (!(l.header[H.freeCount] === count - 1)) fail('popFree: the free count did not drop by one');
  return frame;
}

/**
 * Finds `count` free frames that are physically contiguous, start on a multiple of
 * `alignPages`, and lie in [minPage, maxPage). Returns the first frame or -1. Caller holds
 * the free-list lock; the frames stay on the list until removed.
 */
export function findContiguousFree(
  l: Layout,
  count: number,
  alignPages: number,
  minPage: number,
  maxPage: number,
): number {
  if (!(count > 0)) fail('findContiguousFree: count must be positive');
  if (!(alignPages > 0)) fail('findContiguousFree: alignment must be positive');
  const end = Math.min(maxPage, l.options.ramPages);
  let start = Math.ceil(Math.max(minPage, 0) / alignPages) * alignPages;
  while (start + count <= end) {
    let run = 0;
    while (run < count && frameState(l, start + run) === FrameState.FREE) run++;
    if (run === count) return start;
    start = Math.ceil((start + run + 1) / alignPages) * alignPages;
  }
  return -1;
}

export function zeroFrame(l: Layout, frame: number): void {
  l.ram.fill(0, frame * PAGE_SIZE, (frame + 1) * PAGE_SIZE);
}

export function copyFrame(l: Layout, from: number, to: number): void {
  l.ram.copyWithin(to * PAGE_SIZE, from * PAGE_SIZE, (from + 1) * PAGE_SIZE);
}

/** Marks the adapter hole and puts every other frame on the free list (boot, one thread). */
export function initFrames(l: Layout): void {
  for (let frame = 0; frame < l.options.ramPages; frame++) {
    const base = frame * FRAME_WORDS;
    l.frames[base + FR.owner] = -1;
    l.frames[base + FR.where] = -1;
    l.frames[base + FR.freePos] = -1;
    if (!isRamFrame(l, frame)) {
      l.frames[base + FR.state] = FrameState.HOLE;
      continue;
    }
    l.frames[base + FR.state] = FrameState.BLOCK; // pushFree asserts the frame is not free yet
  }
  for (let frame = l.options.ramPages - 1; frame >= 0; frame--) {
    if (isRamFrame(l, frame)) pushFree(l, frame);
  }
  if (!(freeCount(l) === ramFrameCount(l))) fail('initFrames: every RAM frame starts free');
}

export function ramFrameCount(l: Layout): number {
  const hole = Math.max(0, Math.min(HOLE_END_PAGE, l.options.ramPages) - HOLE_FIRST_PAGE);
  return l.options.ramPages - hole;
}
