/**
 * Fault injection for the reliability tests and the soak: one fault, armed in every runner's
 * Locker, fires inside the critical section of the n-th lock acquisition of the run phase
 * (machine-wide), in whichever actor takes it, while it holds that lock. What the runtime
 * must do about each kind is DESIGN.md's robust-lock rule: detect it, name the lock, the
 * worker, the service and the phase, and check what the lock protects. It is not a
 * scheduler and never fires outside a worker.
 */
import { parentPort } from 'node:worker_threads';
import { LOCK_MISC } from '../shared/layout.js';
import { heldLocks, interruptSafe, lockName, lockRank } from '../shared/lock.js';
import type { Context } from '../shared/context.js';
import { type FaultPlan, markFaultFired, refireFault, TERMINATE_ME } from '../shared/protocol.js';

/** What a thrown fault looks like to the coordinator: a bug inside a critical section. */
export class InjectedFault extends Error {
  override name = 'InjectedFault';
}

/** Exit code of a worker that an injected `exit` fault ended. */
export const FAULT_EXIT_CODE = 70;

/** A hang or a wait for terminate() gives up after this long (the run must end first). */
const SPIN_BOUND_MS = 60_000;

/**
 * Arms `plan` in `ctx`'s Locker. Every runner of a faulty run is armed; the one whose lock
 * acquisition is the plan's n-th of the run phase, machine-wide, fires it, holding that lock.
 */
export function armFault(ctx: Context, plan: FaultPlan): void {
  const fire = (lockId: number): void => {
    markFaultFired(ctx.l, ctx.actor);
    switch (plan.kind) {
      case 'throw':
        throw new InjectedFault(`injected fault: threw holding ${lockName(lockId)}`);
      case 'exit':
        return process.exit(FAULT_EXIT_CODE);
      case 'terminate':
        parentPort?.postMessage(TERMINATE_ME);
        return spin(`terminate() never came (holding ${lockName(lockId)})`);
      case 'hang':
        return spin(`the hang was never ended (holding ${lockName(lockId)})`);
      case 'invert':
        return invert(ctx, lockId);
    }
  };
  ctx.locker.armFault(fire);
}

/** Busy-waits holding the lock, so that only terminate() ends it; bounded all the same. */
function spin(why: string): void {
  const until = performance.now() + SPIN_BOUND_MS;
  while (performance.now() < until) {
    // the thread must stay busy: terminate() interrupts running JavaScript
  }
  throw new InjectedFault(`injected fault: ${why} in ${SPIN_BOUND_MS} ms`);
}

/**
 * Takes a lock of lower rank than `lockId` and lets it go: the lowest-ranked one another
 * actor holds right now (the inversion most likely to deadlock), else the V86 data area
 * lock. At interrupt time only interrupt-safe locks are candidates: the fault is one lock-order
 * inversion, and taking a task-time lock there would add a second, different bug. When there
 * is nothing to invert, the fault waits for the next acquisition.
 */
function invert(ctx: Context, lockId: number): void {
  const rank = lockRank(lockId);
  const atInterrupt = ctx.locker.atInterrupt;
  const allowed = (id: number): boolean =>
    lockRank(id) < rank && (!atInterrupt || interruptSafe(id));
  const lower = heldLocks(ctx.l)
    .filter((h) => h.holderActor !== ctx.actor && allowed(h.lockId))
    .sort((a, b) => lockRank(a.lockId) - lockRank(b.lockId));
  const target = lower[0]?.lockId ?? (allowed(LOCK_MISC) ? LOCK_MISC : -1);
  if (target < 0) {
    refireFault(ctx.l, ctx.actor); // fire again at the next acquisition
    return;
  }
  ctx.locker.acquire(target);
  ctx.locker.release(target);
}
