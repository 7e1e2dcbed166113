/**
 * Futex-style locks on words of the SharedArrayBuffer. This is the only file that calls
 * Atomics on lock words. A lock word is 0 when free and holder actor id + 1 when held; every
 * lock has a fixed rank, every wait has a bound, and the locking policy decides which word a
 * logical lock uses (`global`: all of them share one).
 * It is not a scheduler: fairness comes from the OS futex queue, not from here.
 */
import { isMainThread } from 'node:worker_threads';
import { AssertionError, fail } from './assert.js';
import { actorLoad, actorRead, actorStore } from './actor_record.js';
import {
  AC,
  ACTOR_CRASHED,
  COMMON_PDE_FIRST,
  LK,
  LOCKDEP_INTERRUPT,
  LOCKDEP_ORDER,
  LOCK_BLOCKS,
  LOCK_COMMON_FIRST,
  LOCK_FREE_LIST,
  LOCK_GLOBAL,
  LOCK_MISC,
  LOCK_VM_FIRST,
  LOCK_VM_TABLE,
  LOCK_WORDS,
  H,
  type Layout,
} from './layout.js';
import { recordLockdep } from './lockdep.js';
import { errorClass } from './error_class.js';

/**
 * Lock order, lowest first: MISC, the common page tables by PDE index, VM spaces by VM id,
 * the VM table, the block table, the free list. A service takes locks in rising rank and
 * releases them all at its end; callbacks and notifications run after the release.
 */
export function lockRank(lockId: number): number {
  if (lockId === LOCK_GLOBAL) return 0;
  if (lockId === LOCK_MISC) return 1;
  if (lockId >= LOCK_COMMON_FIRST && lockId < LOCK_VM_FIRST) return 10 + lockId;
  if (lockId >= LOCK_VM_FIRST) return 10_000 + lockId;
  if (lockId === LOCK_VM_TABLE) return 20_000;
  if (lockId === LOCK_BLOCKS) return 30_000;
  if (lockId === LOCK_FREE_LIST) return 40_000;
  return -1; // unused ids between the fixed locks and the page-table locks
}

export function lockName(lockId: number): string {
  if (lockId === LOCK_GLOBAL) return 'global VMM lock';
  if (lockId === LOCK_MISC) return 'V86 data area lock';
  if (lockId === LOCK_VM_TABLE) return 'VM table lock';
  if (lockId === LOCK_BLOCKS) return 'block table lock';
  if (lockId === LOCK_FREE_LIST) return 'free list lock';
  if (lockId >= LOCK_VM_FIRST) return `VM ${lockId - LOCK_VM_FIRST} space lock`;
  const pde = lockId - LOCK_COMMON_FIRST + COMMON_PDE_FIRST;
  return `page table lock (PDE ${pde.toString(16)}h)`;
}

export type { LockdepEntry } from './lockdep.js';
export { lockdepEntries } from './lockdep.js';

/** Thrown when a wait passes its bound: a liveness failure, never retried. */
export class LockTimeoutError extends Error {
  static {
    errorClass(this, 'LockTimeoutError');
  }
  override name = 'LockTimeoutError';
  constructor(
    readonly lockId: number,
    readonly holderActor: number,
    readonly waitedMs: number,
  ) {
    super(
      `lock wait bound passed: ${lockName(lockId)} held by actor ${holderActor} ` +
        `for more than ${waitedMs} ms`,
    );
  }
}

const SPIN_TRIES = 64;
/** Longest pause between two tries of a held lock, in multiply-adds (tenths of a µs). */
const PAUSE_MAX = 256;
/** Where the pause loop leaves its work, so that the compiler cannot drop the loop. */
let pauseSink = 0;

const rankTables = new Map<number, Int32Array>();
function rankTable(lockCount: number): Int32Array {
  let table = rankTables.get(lockCount);
  if (table === undefined) {
    table = new Int32Array(lockCount);
    for (let id = 0; id < lockCount; id++) table[id] = lockRank(id);
    rankTables.set(lockCount, table);
  }
  return table;
}

/** Page-table locks are the only interrupt-safe ones: all an asynchronous service takes. */
export function interruptSafe(lockId: number): boolean {
  return lockId >= LOCK_COMMON_FIRST;
}

/** Thrown to a waiter whose lock's holder died holding it (a robust lock's EOWNERDEAD). */
export class OwnerDeadError extends Error {
  static {
    errorClass(this, 'OwnerDeadError');
  }
  override name = 'OwnerDeadError';
  constructor(
    readonly lockId: number,
    readonly ownerActor: number,
  ) {
    super(`${lockName(lockId)} is owner-dead: actor ${ownerActor} died holding it`);
  }
}

/**
 * One actor's view of the locks. Not shared between actors: it keeps the stack of held
 * (logical) locks that lockdep checks every acquisition against, under both policies.
 */
export class Locker {
  private readonly words: Int32Array;
  private readonly global: boolean;
  private readonly report: boolean;
  private readonly ranks: Int32Array;
  private readonly held: number[] = [];
  private depthGlobal = 0;
  private readonly me: number;
  /** Set while the actor runs at interrupt time: only interrupt-safe locks may be taken. */
  atInterrupt = false;
  /** The armed fault (fault injection), fired when the machine-wide countdown reaches 0. */
  private onFault: ((lockId: number) => void) | undefined;

  constructor(
    private readonly layout: Layout,
    actorId: number,
  ) {
    this.words = layout.locks;
    this.global = layout.options.locking === 'global';
    this.report = layout.options.lockOrder === 'report';
    this.me = actorId + 1;
    this.ranks = rankTable(layout.lockCount);
  }

  /** Takes `lockId` (through the policy), waiting at most lockWaitMsMax. */
  acquire(lockId: number): void {
    if (!(this.ranks[lockId]! > 0 || lockId === LOCK_GLOBAL))
      fail('acquire: not a lock id', lockId);
    const held = this.held;
    const depth = held.length;
    if (depth > 0 && this.ranks[held[depth - 1]!]! >= this.ranks[lockId]!)
      this.lockdep(LOCKDEP_ORDER, lockId);
    if (this.atInterrupt && !interruptSafe(lockId)) this.lockdep(LOCKDEP_INTERRUPT, lockId);
    held.push(lockId);
    if (!this.global || ++this.depthGlobal === 1) {
      const base = (this.global ? LOCK_GLOBAL : lockId) * LOCK_WORDS;
      if (Atomics.compareExchange(this.words, base, 0, this.me) !== 0)
        this.acquireSlowOrForget(base / LOCK_WORDS);
      if (!(this.words[base] === this.me))
        fail('acquire: the lock word does not name this actor', base);
      // We hold the lock, so a plain write is safe; the release's exchange publishes it.
      this.words[base + LK.epoch] = (this.words[base + LK.epoch]! + 1) | 0;
    }
    if (this.onFault !== undefined && Atomics.sub(this.layout.header, H.faultCountdown, 1) === 1)
      this.onFault(lockId);
  }

  /** Releases `lockId`; locks must be released in the reverse order of acquisition. */
  release(lockId: number): void {
    if (this.held.pop() !== lockId) this.releaseViolation(lockId);
    if (this.global && --this.depthGlobal > 0) return;
    if (!(this.depthGlobal >= 0)) fail('release: more releases than acquisitions', lockId);
    const base = (this.global ? LOCK_GLOBAL : lockId) * LOCK_WORDS;
    // Store 0 before reading the waiter count: a waiter increments the count before it
    // re-checks the word, so either it sees 0 and does not sleep, or we see it and wake it.
    if (Atomics.exchange(this.words, base, 0) !== this.me) this.releaseViolation(lockId);
    if (Atomics.load(this.words, base + LK.waiters) > 0) Atomics.notify(this.words, base, 1);
  }

  /**
   * Arms a fault (fault injection): `fault` runs inside the critical section of the lock
   * acquisition that takes the machine's fault countdown (H.faultCountdown, set by whoever
   * injects) from 1 to 0, in whichever armed actor takes it, holding that lock. Costs an
   * atomic decrement of a shared word per acquisition while armed: never armed in a benchmark.
   */
  armFault(fault: (lockId: number) => void): void {
    this.onFault = fault;
  }

  /** Records a lockdep violation; throws it unless the machine runs with lockOrder report. */
  private lockdep(kind: number, lockId: number): void {
    const top = this.held.at(-1) ?? -1;
    recordLockdep(this.layout, {
      kind,
      held: top,
      taken: lockId,
      actor: this.me - 1,
      service: actorRead(this.layout, this.me - 1, AC.lastService),
    });
    if (this.report) return;
    throw new AssertionError(
      kind === LOCKDEP_ORDER
        ? `lock order: ${lockName(lockId)} taken while holding ${lockName(top)}`
        : `interrupt time: ${lockName(lockId)} is not interrupt-safe`,
    );
  }

  private releaseViolation(lockId: number): never {
    throw new AssertionError(
      `release: ${lockName(lockId)} not held by this actor, or not the last lock taken`,
    );
  }

  holding(lockId: number): boolean {
    const id = this.global ? LOCK_GLOBAL : lockId;
    // A plain read: only this actor writes its own id into the word, so it sees its own.
    return this.words[id * LOCK_WORDS + LK.state] === this.me;
  }

  heldCount(): number {
    return this.held.length;
  }

  /**
   * acquireSlow, and when it throws (owner-dead, the wait bound) the lock is not held: it
   * leaves the stack of held locks, or every later acquisition of this actor would be checked
   * against a lock it does not hold (a false lock-order report).
   */
  private acquireSlowOrForget(lockId: number): void {
    try {
      this.acquireSlow(lockId);
    } catch (error) {
      this.held.pop();
      if (this.global) this.depthGlobal -= 1;
      throw error;
    }
  }

  private acquireSlow(lockId: number): void {
    const base = lockId * LOCK_WORDS;
    const index = base + LK.state;
    // Test, then test-and-set, with an exponential pause between tries: a waiter that leaves
    // the line alone lets the holder finish (and often take the lock again) without the line
    // moving to the waiter on every call. Measured on 2 cores, two workers on one shared
    // region: 0.6x one worker with a bare compare-exchange spin, 0.8x with this.
    let pause = 1;
    for (let i = 0; i < SPIN_TRIES; i++) {
      if (
        Atomics.load(this.words, index) === 0 &&
        Atomics.compareExchange(this.words, index, 0, this.me) === 0
      )
        return;
      for (let k = 0; k < pause; k++) pauseSink = (Math.imul(pauseSink, 31) + k) | 0;
      if (pause < PAUSE_MAX) pause *= 2;
    }
    Atomics.add(this.words, base + LK.contended, 1);
    actorStore(this.layout, this.me - 1, AC.waitingLock, lockId + 1);
    const start = performance.now();
    try {
      this.waitFree(lockId, start);
    } finally {
      actorStore(this.layout, this.me - 1, AC.waitingLock, 0);
    }
    const waitedUs = Math.round((performance.now() - start) * 1000);
    Atomics.add(this.words, base + LK.waitUsTotal, waitedUs);
  }

  /** The futex phase of acquireSlow: bounded, and ended by a holder that died. */
  private waitFree(lockId: number, start: number): void {
    const base = lockId * LOCK_WORDS;
    const boundMs = this.layout.options.lockWaitMsMax;
    for (;;) {
      const holder = Atomics.compareExchange(this.words, base + LK.state, 0, this.me);
      if (holder === 0) return;
      if (!(holder !== this.me)) fail(`acquire: ${lockName(lockId)} already held by this actor`);
      if (actorCrashed(this.layout, holder - 1)) {
        markLockOwnerDead(this.layout, lockId, holder - 1);
        throw new OwnerDeadError(lockId, holder - 1);
      }
      const waitedMs = performance.now() - start;
      if (waitedMs > boundMs) {
        Atomics.add(this.layout.header, H.lockTimeouts, 1);
        throw new LockTimeoutError(lockId, holder - 1, boundMs);
      }
      this.sleep(base, holder, boundMs - waitedMs);
    }
  }

  /** Sleeps until the word changes from `holder`, or `remainingMs` passes. */
  private sleep(base: number, holder: number, remainingMs: number): void {
    if (isMainThread) return; // the main thread never blocks in Atomics.wait: it spins
    Atomics.add(this.words, base + LK.waiters, 1);
    Atomics.add(this.words, base + LK.waits, 1);
    // Safe against a lost wake-up: wait() sleeps only while the word still holds `holder`,
    // and release() stores 0 before it reads the waiter count incremented above.
    Atomics.wait(this.words, base + LK.state, holder, Math.min(remainingMs, 50));
    Atomics.sub(this.words, base + LK.waiters, 1);
  }
}

function actorCrashed(layout: Layout, actor: number): boolean {
  return actorLoad(layout, actor, AC.state) === ACTOR_CRASHED;
}

/** Marks `lockId` owner-dead for `actor`, unless it is marked already. */
function markLockOwnerDead(layout: Layout, lockId: number, actor: number): void {
  Atomics.compareExchange(layout.locks, lockId * LOCK_WORDS + LK.ownerDead, 0, actor + 1);
}

/**
 * Declares `actor` crashed (its thread died or threw out of a service) and marks every lock it
 * still holds owner-dead: a waiter on one of them stops with OwnerDeadError instead of
 * waiting out its bound. Returns the ids of those locks. Called by whoever saw it die.
 */
export function declareCrashed(layout: Layout, actor: number): number[] {
  actorStore(layout, actor, AC.state, ACTOR_CRASHED);
  const locks = heldLocks(layout)
    .filter((h) => h.holderActor === actor)
    .map((h) => h.lockId);
  for (const lockId of locks) {
    markLockOwnerDead(layout, lockId, actor);
    // wakes its waiters, so that they see the owner died without their 50 ms nap
    Atomics.notify(layout.locks, lockId * LOCK_WORDS + LK.state);
  }
  return locks;
}

/** The actor that holds the lock word `lockId` right now, or -1 when it is free. */
export const lockHolder = (layout: Layout, lockId: number): number =>
  Atomics.load(layout.locks, lockId * LOCK_WORDS + LK.state) - 1;

/** The acquisitions of the lock word `lockId` so far, wrapping: unchanged, nobody took it. */
export const lockEpoch = (layout: Layout, lockId: number): number =>
  Atomics.load(layout.locks, lockId * LOCK_WORDS + LK.epoch);

/** The owner-dead mark of a lock: the actor that died holding it, or -1. */
export function lockOwnerDead(layout: Layout, lockId: number): number {
  return Atomics.load(layout.locks, lockId * LOCK_WORDS + LK.ownerDead) - 1;
}

/** Statistics of every lock word, for reports and benchmarks. */
export function lockStats(layout: Layout): {
  lockId: number;
  name: string;
  contended: number;
  waits: number;
  waitUsTotal: number;
  epoch: number;
}[] {
  const stats = [];
  for (let lockId = 0; lockId < layout.lockCount; lockId++) {
    const base = lockId * LOCK_WORDS;
    const epoch = lockEpoch(layout, lockId);
    if (epoch === 0) continue;
    stats.push({
      lockId,
      name: lockName(lockId),
      contended: Atomics.load(layout.locks, base + LK.contended),
      waits: Atomics.load(layout.locks, base + LK.waits),
      waitUsTotal: Atomics.load(layout.locks, base + LK.waitUsTotal),
      epoch,
    });
  }
  return stats;
}

/** Actor ids of the holders of every lock held right now (quiescent points expect none). */
export function heldLocks(layout: Layout): { lockId: number; holderActor: number }[] {
  const held = [];
  for (let lockId = 0; lockId < layout.lockCount; lockId++) {
    const holder = lockHolder(layout, lockId);
    if (holder >= 0) held.push({ lockId, holderActor: holder });
  }
  return held;
}

/**
 * A bounded futex wait on any word of the buffer, for the runtime's hand-offs (a worker
 * waiting for the coordinator). Never on the main thread: it would stop its event loop.
 * Returns false when the wait timed out with the word unchanged.
 */
export function futexWait(
  view: Int32Array,
  index: number,
  expected: number,
  timeoutMs: number,
): boolean {
  if (isMainThread) fail('futexWait: the main thread never blocks in Atomics.wait');
  // Sleeps only while the word still holds `expected`: a change made before the wait is seen.
  return Atomics.wait(view, index, expected, timeoutMs) !== 'timed-out';
}

/**
 * The main thread's futex wait: resolves when the word no longer holds `expected` (at once if
 * it does not now), or after `timeoutMs`. Atomics.waitAsync never blocks the event loop.
 */
export async function futexWaitAsync(
  view: Int32Array,
  index: number,
  expected: number,
  timeoutMs: number,
): Promise<void> {
  const wait = Atomics.waitAsync(view, index, expected, timeoutMs);
  if (wait.async) await wait.value;
}

/** Wakes every waiter on a word, after the word was changed. */
export function futexWake(view: Int32Array, index: number): void {
  Atomics.notify(view, index);
}
