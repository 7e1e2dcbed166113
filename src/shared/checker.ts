/**
 * The invariant checker of DESIGN.md §6: reads the whole machine and lists what is wrong.
 * Run it only at quiescent points (no service in flight on any thread): it takes no locks.
 * It never repairs anything.
 */
import { BLOCK_LIVE, blockState, blockWord } from './blocks.js';
import { P_PCD, P_USER, SHARED_ARENA_FIRST_PAGE } from './constants.js';
import { actorLoad } from './actor_record.js';
import {
  frameFixed,
  frameFreePos,
  frameLockCount,
  frameLockedPage,
  frameLockedSpace,
  frameOwner,
  frameState,
  frameWhere,
  freeCount,
  freeStackAt,
  isRamFrame,
} from './frames.js';
import {
  AC,
  ACTOR_LIVE,
  BK,
  BlockKind,
  FrameState,
  type Layout,
  PTES_PER_TABLE,
  LOCKDEP_ORDER,
} from './layout.js';
import { inSystemArena, userMappingRefusal } from './isolation.js';
import { heldLocks, lockdepEntries, lockName, lockOwnerDead, lockRank } from './lock.js';
import { pageDirOf, pteIndex, SYSTEM_VM } from './page_table.js';
import { pteFrame, ptePresent } from './pte.js';
import { serviceNameOf, serviceTable } from './services/index.js';
import { VM_FREE, vmLive, vmState } from './vm_record.js';

export type ViolationKind =
  | 'lock-held'
  | 'owner-dead'
  | 'lock-order'
  | 'interrupt-lock'
  | 'lost-frame'
  | 'doubled-frame'
  | 'pte-free-frame'
  | 'pcd-missing'
  | 'locked-page-moved'
  | 'negative-lock-count'
  | 'fixed-page-left'
  | 'free-list'
  | 'interrupt-time'
  | 'data'
  | 'isolation';

export interface Violation {
  kind: ViolationKind;
  message: string;
  frame?: number;
  page?: number;
  actor?: number;
  block?: number;
}

export interface CheckOptions {
  /** End of run: a frame still held out by an _XchgFreePhysReg caller is lost. */
  final?: boolean;
  /** Only the lock check (phase boundaries). */
  locksOnly?: boolean;
}

const CLAIMING_KINDS: number[] = [
  BlockKind.ALLOCATION,
  BlockKind.REGION,
  BlockKind.RESERVED,
  BlockKind.V86,
  BlockKind.DPMI_MEMORY,
  BlockKind.SNAPSHOT,
  BlockKind.NUL,
];

const hex = (n: number): string => `${n.toString(16).toUpperCase()}h`;

export function check(l: Layout, options: CheckOptions = {}): Violation[] {
  const out: Violation[] = [];
  for (const { lockId, holderActor } of heldLocks(l)) {
    const dead = lockOwnerDead(l, lockId) === holderActor;
    out.push({
      kind: dead ? 'owner-dead' : 'lock-held',
      message: dead
        ? `${lockName(lockId)} is owner-dead: actor ${holderActor} died holding it`
        : `${lockName(lockId)} held by actor ${holderActor}`,
      actor: holderActor,
    });
  }
  if (options.locksOnly) return out;
  checkLockdep(l, out);
  checkInterruptTime(l, out);
  checkFreeList(l, out);
  const claims = checkBlocks(l, out);
  checkFrames(l, claims, options, out);
  checkAllPtes(l, out);
  return out;
}

/** What lockdep saw: locks taken against the ranks, or not interrupt-safe at interrupt time. */
function checkLockdep(l: Layout, out: Violation[]): void {
  for (const e of lockdepEntries(l)) {
    const where = `actor ${e.actor} in ${serviceNameOf(e.service)}`;
    const taken = `${lockName(e.taken)} (rank ${lockRank(e.taken)})`;
    out.push(
      e.kind === LOCKDEP_ORDER
        ? {
            kind: 'lock-order',
            actor: e.actor,
            message:
              `lock order inverted: ${taken} taken while holding ` +
              `${lockName(e.held)} (rank ${lockRank(e.held)}), ${where}`,
          }
        : {
            kind: 'interrupt-lock',
            actor: e.actor,
            message: `${taken} taken at interrupt time, ${where}: not interrupt-safe`,
          },
    );
  }
}

/** Synchronous services called at interrupt time: one violation per actor and service. */
function checkInterruptTime(l: Layout, out: Violation[]): void {
  for (let actor = 0; actor < l.options.actorMax; actor++) {
    if (actorLoad(l, actor, AC.violations) === 0) continue;
    const low = actorLoad(l, actor, AC.violationSlotsLow);
    const high = actorLoad(l, actor, AC.violationSlotsHigh);
    for (let slot = 0; slot < 64; slot++) {
      const bits = slot < 32 ? low : high;
      if ((bits & (1 << (slot % 32))) === 0) continue;
      const service = slot < serviceTable.length ? serviceTable[slot]!.name : 'Int 31h';
      out.push({
        kind: 'interrupt-time',
        actor,
        message: `actor ${actor} called ${service} from a nested interrupt: refused (synchronous)`,
      });
    }
  }
}

function checkFreeList(l: Layout, out: Violation[]): void {
  const count = freeCount(l);
  let freeStates = 0;
  for (let frame = 0; frame < l.options.ramPages; frame++) {
    if (frameState(l, frame) === FrameState.FREE) freeStates++;
  }
  for (let i = 0; i < count; i++) {
    const frame = freeStackAt(l, i);
    const state = frameState(l, frame);
    if (state !== FrameState.FREE || frameFreePos(l, frame) !== i) {
      out.push({
        kind: 'doubled-frame',
        message: `frame ${hex(frame)} is on the free list but in state ${state}`,
        frame,
      });
    }
  }
  if (freeStates !== count) {
    out.push({
      kind: 'free-list',
      message: `${freeStates} frames are free but the free list holds ${count}`,
    });
  }
}

/** Walks every frame-owning block's own pages; returns how often each frame is claimed. */
function checkBlocks(l: Layout, out: Violation[]): Int32Array {
  const claims = new Int32Array(l.options.ramPages);
  for (let block = 0; block < l.options.blockMax; block++) {
    if (blockState(l, block) !== BLOCK_LIVE) continue;
    const kind = blockWord(l, block, BK.kind);
    if (!CLAIMING_KINDS.includes(kind)) continue;
    const space = blockWord(l, block, BK.space);
    const vm = space < 0 ? SYSTEM_VM : space;
    const base = blockWord(l, block, BK.basePage);
    for (let page = base; page < base + blockWord(l, block, BK.pageCount); page++) {
      const index = pteIndex(l, vm, page);
      const pte = index < 0 ? 0 : l.ramWords[index]!;
      const frame = pteFrame(pte);
      if (!ptePresent(pte) || !isRamFrame(l, frame)) continue;
      const state = frameState(l, frame);
      const owner = frameOwner(l, frame);
      const own = owner === block && (state === FrameState.BLOCK || state === FrameState.REGION);
      if (own || (kind === BlockKind.NUL && state === FrameState.NUL)) claims[frame]! += 1;
      else if (kind !== BlockKind.V86 && state !== FrameState.FREE) {
        out.push({
          kind: 'doubled-frame',
          frame,
          page,
          block,
          message:
            `frame ${hex(frame)} is mapped at page ${hex(page)} of block ${block} ` +
            `but belongs to ${owner} (state ${state})`,
        });
      }
    }
  }
  return claims;
}

function checkFrames(l: Layout, claims: Int32Array, options: CheckOptions, out: Violation[]): void {
  for (let frame = 0; frame < l.options.ramPages; frame++) {
    if (!isRamFrame(l, frame)) continue;
    const state = frameState(l, frame);
    const owner = frameOwner(l, frame);
    const where = frameWhere(l, frame);
    const lockCount = frameLockCount(l, frame);
    if (state === FrameState.BLOCK || state === FrameState.REGION || state === FrameState.NUL) {
      const n = claims[frame]!;
      if (n === 0)
        out.push({
          kind: 'lost-frame',
          frame,
          block: owner,
          message: `frame ${hex(frame)} of block ${owner} is mapped by no page of it`,
        });
      if (n > 1)
        out.push({
          kind: 'doubled-frame',
          frame,
          block: owner,
          message: `frame ${hex(frame)} is mapped ${n} times by block ${owner}`,
        });
    }
    if (state === FrameState.HELD) checkHeld(l, frame, owner, where, options, out);
    if (state === FrameState.PAGE_TABLE && !pageTableReachable(l, frame, owner, where)) {
      out.push({
        kind: 'lost-frame',
        frame,
        message: `page-table frame ${hex(frame)} is referenced by no directory`,
      });
    }
    if (lockCount < 0)
      out.push({
        kind: 'negative-lock-count',
        frame,
        message: `frame ${hex(frame)} has lock count ${lockCount}`,
      });
    if (lockCount > 0) checkLocked(l, frame, out);
    if (frameFixed(l, frame) && state !== FrameState.REGION && state !== FrameState.BLOCK) {
      out.push({
        kind: 'fixed-page-left',
        frame,
        page: where,
        message: `PageFixed frame ${hex(frame)} left its block (state ${state})`,
      });
    }
  }
}

function checkHeld(
  l: Layout,
  frame: number,
  actor: number,
  page: number,
  options: CheckOptions,
  out: Violation[],
): void {
  const live = actorLoad(l, actor, AC.state) === ACTOR_LIVE;
  if (live && !options.final) return;
  out.push({
    kind: 'lost-frame',
    frame,
    page,
    actor,
    message:
      `frame ${hex(frame)} taken from page ${hex(page)} by actor ${actor} ` +
      'with _XchgFreePhysReg was never put back',
  });
}

function pageTableReachable(l: Layout, frame: number, owner: number, pde: number): boolean {
  const vm = owner < 0 ? SYSTEM_VM : owner;
  if (vmState(l, vm) === VM_FREE) return false;
  if (pde < 0) return pageDirOf(l, vm) === frame;
  const entry = l.ramWords[pageDirOf(l, vm) * PTES_PER_TABLE + pde]!;
  return ptePresent(entry) && pteFrame(entry) === frame;
}

function checkLocked(l: Layout, frame: number, out: Violation[]): void {
  const page = frameLockedPage(l, frame);
  const space = frameLockedSpace(l, frame);
  const vm = space < 0 ? SYSTEM_VM : space;
  const index = vmLive(l, vm) ? pteIndex(l, vm, page) : -1;
  const pte = index < 0 ? 0 : l.ramWords[index]!;
  if (ptePresent(pte) && pteFrame(pte) === frame) return;
  const now = ptePresent(pte) ? `frame ${hex(pteFrame(pte))}` : 'not present';
  out.push({
    kind: 'locked-page-moved',
    frame,
    page,
    message: `locked page ${hex(page)} moved while locked: it was frame ${hex(frame)}, now ${now}`,
  });
}

/**
 * Every present PTE of every VM: never a free frame; PCD on memory that is not RAM; at ring 3
 * (P_USER) never a system-arena page, a page table, the snapshot or another VM's frame.
 */
function checkAllPtes(l: Layout, out: Violation[]): void {
  const seen = new Set<number>();
  for (let vm = 0; vm < l.options.vmMax; vm++) {
    if (!vmLive(l, vm)) continue;
    const dir = pageDirOf(l, vm) * PTES_PER_TABLE;
    for (let pde = 0; pde < PTES_PER_TABLE; pde++) {
      const entry = l.ramWords[dir + pde]!;
      if (!ptePresent(entry) || seen.has(pteFrame(entry))) continue;
      seen.add(pteFrame(entry));
      checkTable(l, pteFrame(entry), pde, vm, out);
    }
  }
}

/** Tables below the shared arena belong to one VM; those above are the same in every VM. */
const PRIVATE_PDE_END = SHARED_ARENA_FIRST_PAGE / PTES_PER_TABLE;

function checkTable(l: Layout, table: number, pde: number, vm: number, out: Violation[]): void {
  for (let i = 0; i < PTES_PER_TABLE; i++) {
    const pte = l.ramWords[table * PTES_PER_TABLE + i]!;
    if (!ptePresent(pte)) continue;
    const frame = pteFrame(pte);
    const page = pde * PTES_PER_TABLE + i;
    if ((pte & P_USER) !== 0) checkUserPte(l, page, frame, pde < PRIVATE_PDE_END ? vm : -1, out);
    if (!isRamFrame(l, frame)) {
      if ((pte & P_PCD) === 0)
        out.push({
          kind: 'pcd-missing',
          page,
          message: `page ${hex(page)} maps device memory ${hex(frame * 4096)} without PCD`,
        });
      continue;
    }
    if (frameState(l, frame) === FrameState.FREE) {
      out.push({
        kind: 'pte-free-frame',
        frame,
        page,
        message: `page ${hex(page)} maps frame ${hex(frame)}, which is free`,
      });
    }
  }
}

/** A ring-3 mapping: `vm` is the VM whose own table holds it, -1 for a common table. */
function checkUserPte(l: Layout, page: number, frame: number, vm: number, out: Violation[]): void {
  // Named only for a violation: the check runs over every ring-3 PTE at the end of each run.
  const where = (): string => (vm < 0 ? `page ${hex(page)}` : `page ${hex(page)} of VM ${vm}`);
  if (inSystemArena(page)) {
    out.push({
      kind: 'isolation',
      page,
      frame,
      message: `${where()} is in the system arena but ring-3 accessible (P_USER)`,
    });
    return;
  }
  // In a common table (the shared arena) every VM sees the page: only system data is wrong.
  const refusal = userMappingRefusal(l, frame, vm < 0 ? 0 : vm);
  if (refusal === undefined || (vm < 0 && refusal.startsWith('private'))) return;
  out.push({
    kind: 'isolation',
    page,
    frame,
    message: `${where()} maps frame ${hex(frame)} at ring 3, which is ${refusal}`,
  });
}
