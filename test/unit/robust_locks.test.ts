// Robust locks and lockdep on one thread: the owner-dead mark, the lock-order and
// interrupt-time checks in both modes, and the wait-for graph's cycle finding. The same
// mechanisms with real workers dying and deadlocking are in test/concurrency.
import { describe, expect, it } from 'vitest';
import {
  AssertionError,
  createKernel,
  LockTimeoutError,
  OwnerDeadError,
  PageMapFreePhysReg,
  PG_SYS,
  presets,
} from '../../src/index.js';
import { check } from '../../src/shared/checker.js';
import {
  AC,
  ACTOR_CRASHED,
  ACTOR_LIVE,
  ACTOR_WORDS,
  Layout,
  LOCK_BLOCKS,
  LOCK_COMMON_FIRST,
  LOCK_FREE_LIST,
  LOCK_MISC,
  LOCK_VM_TABLE,
} from '../../src/shared/layout.js';
import { declareCrashed, lockdepEntries, Locker, lockOwnerDead } from '../../src/shared/lock.js';
import {
  findCycle,
  rootHolder,
  waitForGraph,
  type WaitForNode,
} from '../../src/main/runtime/wait_for.js';

const machine = (options = {}): Layout =>
  Layout.create({ ...presets.testMin, lockWaitMsMax: 400, ...options });

/** Claims actor slots by hand, as the kernel does, so the graph sees live actors. */
function liveActors(l: Layout, ...actors: number[]): void {
  for (const a of actors) Atomics.store(l.actors, a * ACTOR_WORDS + AC.state, ACTOR_LIVE);
}

describe('robust locks: a holder that died', () => {
  it('declareCrashed marks its locks owner-dead; a waiter gets OwnerDeadError, not the bound', () => {
    const l = machine();
    liveActors(l, 1, 2);
    const [dead, waiter] = [new Locker(l, 1), new Locker(l, 2)];
    dead.acquire(LOCK_BLOCKS);
    dead.acquire(LOCK_FREE_LIST);
    expect(declareCrashed(l, 1)).toEqual([LOCK_BLOCKS, LOCK_FREE_LIST]);
    expect(Atomics.load(l.actors, 1 * ACTOR_WORDS + AC.state)).toBe(ACTOR_CRASHED);
    expect(lockOwnerDead(l, LOCK_FREE_LIST)).toBe(1);
    const started = performance.now();
    let error: unknown;
    try {
      waiter.acquire(LOCK_FREE_LIST);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OwnerDeadError);
    expect((error as OwnerDeadError).ownerActor).toBe(1);
    expect((error as OwnerDeadError).message).toMatch(/free list lock is owner-dead: actor 1/);
    expect(performance.now() - started).toBeLessThan(400); // stopped before its wait bound
    expect(Atomics.load(l.actors, 2 * ACTOR_WORDS + AC.waitingLock)).toBe(0);
    const kinds = check(l, { locksOnly: true }).map((v) => v.kind);
    expect(kinds).toEqual(['owner-dead', 'owner-dead']);
  });

  it('a lock that was not taken (owner-dead, or the bound) is not left on the held stack', () => {
    // Regression: the failed lock stayed on the stack, and the actor's next acquisition of a
    // lower-ranked lock was reported as a lock-order inversion against a lock it never held.
    for (const locking of ['fine', 'global'] as const) {
      const l = machine({ lockWaitMsMax: 30, locking });
      liveActors(l, 1, 2);
      const [holder, waiter] = [new Locker(l, 1), new Locker(l, 2)];
      holder.acquire(LOCK_FREE_LIST);
      expect(() => waiter.acquire(LOCK_FREE_LIST)).toThrow(LockTimeoutError);
      expect(waiter.heldCount()).toBe(0);
      declareCrashed(l, 1);
      expect(() => waiter.acquire(LOCK_FREE_LIST)).toThrow(OwnerDeadError);
      expect(waiter.heldCount()).toBe(0);
      if (locking === 'global') continue; // one word: the dead holder still has it
      waiter.acquire(LOCK_BLOCKS); // ranked below the free list lock
      waiter.release(LOCK_BLOCKS);
      expect(lockdepEntries(l)).toEqual([]);
    }
  });

  it('a live holder is waited out to the bound: LockTimeoutError, no owner-dead mark', () => {
    const l = machine({ lockWaitMsMax: 30 });
    liveActors(l, 1, 2);
    new Locker(l, 1).acquire(LOCK_MISC);
    expect(() => new Locker(l, 2).acquire(LOCK_MISC)).toThrow(LockTimeoutError);
    expect(lockOwnerDead(l, LOCK_MISC)).toBe(-1);
    expect(check(l, { locksOnly: true }).map((v) => v.kind)).toEqual(['lock-held']);
  });
});

describe('lockdep: every acquisition against the ranks, and the interrupt-time rule', () => {
  it('assert mode: an inversion throws and is recorded once per pair', () => {
    const l = machine();
    const locker = new Locker(l, 3);
    locker.acquire(LOCK_FREE_LIST);
    for (let i = 0; i < 3; i++) expect(() => locker.acquire(LOCK_VM_TABLE)).toThrow(AssertionError);
    expect(lockdepEntries(l)).toHaveLength(1);
    const v = check(l).filter((x) => x.kind === 'lock-order');
    expect(v).toHaveLength(1);
    expect(v[0]!.message).toMatch(
      /VM table lock \(rank 20000\) taken while holding free list lock \(rank 40000\), actor 3/,
    );
  });

  it('report mode: the inversion is recorded, reported, and the acquisition goes on', () => {
    const l = machine({ lockOrder: 'report' });
    const locker = new Locker(l, 4);
    locker.acquire(LOCK_BLOCKS);
    locker.acquire(LOCK_MISC); // rank 1 under rank 30,000: no deadlock here, still a bug
    expect(locker.holding(LOCK_MISC)).toBe(true);
    locker.release(LOCK_MISC);
    locker.release(LOCK_BLOCKS);
    expect(check(l, { locksOnly: true })).toEqual([]); // nothing held now
    expect(check(l).filter((v) => v.kind === 'lock-order')).toHaveLength(1);
  });

  it('interrupt time: only page-table locks; the others throw or are reported', () => {
    for (const lockOrder of ['assert', 'report'] as const) {
      const l = machine({ lockOrder });
      const locker = new Locker(l, 5);
      locker.atInterrupt = true;
      locker.acquire(LOCK_COMMON_FIRST + 3); // what _XchgFreePhysReg takes: interrupt-safe
      locker.release(LOCK_COMMON_FIRST + 3);
      if (lockOrder === 'assert') expect(() => locker.acquire(LOCK_FREE_LIST)).toThrow(/interrupt/);
      else locker.acquire(LOCK_FREE_LIST);
      const v = check(l).filter((x) => x.kind === 'interrupt-lock');
      expect(v.map((x) => x.message)).toEqual([
        expect.stringMatching(/free list lock \(rank 40000\) taken at interrupt time, actor 5/),
      ]);
    }
  });

  it('the kernel at interrupt time: _XchgFreePhysReg runs clean, synchronous calls refused', () => {
    const kernel = createKernel({ ramPages: 1024 });
    const dev = kernel.device('DEV', { initOrder: 0 });
    kernel.systemControl('Sys_Critical_Init');
    const { eax: handle, edx: linear } = dev._PageAllocate(
      8,
      PG_SYS,
      0,
      0,
      0,
      0,
      0,
      PageMapFreePhysReg,
    );
    expect(handle).not.toBe(0);
    const page = linear >>> 12;
    dev.atInterrupt(() => {
      const out = dev._XchgFreePhysReg(page, 0, 0);
      expect(out).not.toBe(0xffffffff);
      expect(dev._XchgFreePhysReg(page, out, 0)).toBe(0);
      expect(dev._PageFree(handle, 0)).toBe(0); // refused before it takes any lock
    });
    expect(kernel.check().map((v) => v.kind)).toEqual(['interrupt-time']);
  });
});

describe('the wait-for graph', () => {
  const node = (actorId: number, waitsOn?: number): WaitForNode => ({
    actor: `A${actorId}`,
    actorId,
    state: waitsOn === undefined ? 'running' : 'waiting',
    service: '_PageAllocate',
    holds: [],
    ...(waitsOn === undefined
      ? {}
      : { waitsFor: { lock: 'x', lockId: 0, holder: `A${waitsOn}`, holderId: waitsOn } }),
  });

  it('finds a cycle of waits, and none in a chain', () => {
    expect(findCycle([node(1, 2), node(2, 3), node(3)])).toBeUndefined();
    const cycle = findCycle([node(0, 1), node(1, 2), node(2, 3), node(3, 1)]);
    expect(cycle?.map((n) => n.actorId)).toEqual([1, 2, 3]);
  });

  it('reads holders and waiters from the buffer, and blames the chain’s root', () => {
    const l = machine();
    liveActors(l, 1, 2, 3);
    new Locker(l, 1).acquire(LOCK_FREE_LIST);
    new Locker(l, 2).acquire(LOCK_BLOCKS);
    Atomics.store(l.actors, 2 * ACTOR_WORDS + AC.waitingLock, LOCK_FREE_LIST + 1);
    Atomics.store(l.actors, 3 * ACTOR_WORDS + AC.waitingLock, LOCK_BLOCKS + 1);
    Atomics.store(l.actors, 3 * ACTOR_WORDS + AC.page, 0x80010);
    const names = new Map([
      [1, 'ONE'],
      [2, 'TWO'],
      [3, 'THREE'],
    ]);
    const graph = waitForGraph(l, names, 'test');
    expect(graph.cycle).toBeUndefined();
    const three = graph.nodes.find((n) => n.actor === 'THREE')!;
    expect(three).toMatchObject({
      state: 'waiting',
      page: '80010h',
      waitsFor: { lock: 'block table lock', holder: 'TWO' },
    });
    expect(rootHolder(graph, 3)?.actor).toBe('ONE');
    // ONE (holding the free list) now waits for TWO's block table lock: a cycle
    Atomics.store(l.actors, 1 * ACTOR_WORDS + AC.waitingLock, LOCK_BLOCKS + 1);
    expect(waitForGraph(l, names, 'test').cycle).toEqual(['ONE', 'TWO']);
  });
});
