/**
 * The run phase's watchdog on the coordinator's main thread: every 2 ms it polls the callback
 * router, raises the simulated interrupts, ends the run phase at its time bound, reports
 * progress and trace counters, and looks for a deadlock (the same cycle of lock waits in two
 * snapshots 50 ms apart, none of its locks taken between) or a hung actor. It decides that a
 * run failed; the diagnosis says why, and the coordinator settles it.
 */
import { actorRead } from '../../shared/actor_record.js';
import { freeCount } from '../../shared/frames.js';
import type { Kernel } from '../../shared/kernel.js';
import { lockStats } from '../../shared/lock.js';
import { raiseIrq, setStop } from '../../shared/protocol.js';
import type { CallbackRouter } from './callback_router.js';
import type { Diagnosis } from './diagnosis.js';
import type { RunOptions } from './report.js';
import type { ActorFailureError, ActorHandle } from './worker_host.js';
import { AC } from '../../shared/layout.js';

/** What the watchdog reads and pokes. */
export interface WatchParts {
  kernel: Kernel;
  o: Pick<RunOptions, 'interruptEveryMs' | 'seconds' | 'onProgress' | 'calls' | 'hangMs' | 'trace'>;
  /** The trace's time origin (performance.timeOrigin + now at the coordinator's start). */
  traceOrigin: number;
  router: CallbackRouter;
  diagnosis: Diagnosis;
  /** Every device handle, in load order. */
  devices: () => readonly ActorHandle[];
  /** Every device and VM handle. */
  actors: () => readonly ActorHandle[];
  isDropped: (device: ActorHandle) => boolean;
  /** The runners whose run call has returned. */
  finished: ReadonlySet<ActorHandle>;
}

/** A simulated interrupt to every device that has a handler (it takes it at a safe point). */
function raiseInterrupts(p: WatchParts): void {
  for (const device of p.devices()) {
    if (p.isDropped(device) || !device.hasInterrupt) continue;
    raiseIrq(p.kernel.layout, device.actor);
  }
}

/** Free pages, and lock waits and contended acquisitions so far, as trace counters. */
function traceCounters(p: WatchParts, now: number): void {
  const trace = p.o.trace;
  if (trace === undefined) return;
  const ts = (performance.timeOrigin + now - p.traceOrigin) * 1000;
  trace.counter('free pages', ts, freeCount(p.kernel.layout));
  let waits = 0;
  let contended = 0;
  for (const lock of lockStats(p.kernel.layout)) {
    waits += lock.waits;
    contended += lock.contended;
  }
  trace.counter('lock waits (futex)', ts, waits);
  trace.counter('contended acquisitions', ts, contended);
}

function callsSoFar(p: WatchParts): number {
  let calls = 0;
  for (const { actor } of p.actors())
    if (actor >= 0) calls += actorRead(p.kernel.layout, actor, AC.calls);
  return calls;
}

/**
 * Watches the run phase of `runners` until `done`. Rejects on a deadlock or a hung actor
 * (blaming the holder at the end of its chain of lock waits), or a failure in a callback.
 */
export function watchRun(
  p: WatchParts,
  runners: ActorHandle[],
  done: { value: boolean },
): Promise<never> {
  const l = p.kernel.layout;
  return new Promise<never>((_, reject) => {
    const seen = new Map<ActorHandle, { calls: number; at: number }>();
    let lastIrq = performance.now();
    let lastGraph = performance.now();
    let cycleKey: string | undefined;
    const startedAt = performance.now();
    const timer = setInterval(() => {
      if (done.value) return clearInterval(timer);
      p.router.poll();
      const now = performance.now();
      if (now - lastIrq >= p.o.interruptEveryMs) {
        raiseInterrupts(p);
        lastIrq = now;
      }
      if (now - startedAt > p.o.seconds * 1000) setStop(l, true);
      p.o.onProgress?.(callsSoFar(p), p.o.calls);
      traceCounters(p, now);
      let failure: ActorFailureError | undefined = p.router.chainFailure;
      if (failure === undefined && now - lastGraph >= 50) {
        lastGraph = now;
        const key = p.diagnosis.deadlockKey();
        if (key !== undefined && key === cycleKey) failure = p.diagnosis.deadlockFailure();
        cycleKey = key;
      }
      for (const actor of runners) {
        if (failure !== undefined) break;
        const calls = actorRead(l, actor.actor, AC.calls);
        const before = seen.get(actor);
        if (before === undefined || before.calls !== calls) seen.set(actor, { calls, at: now });
        else if (now - before.at > p.o.hangMs && !p.finished.has(actor)) {
          const stale = runners.filter((a) => now - (seen.get(a)?.at ?? now) > 10);
          failure = p.diagnosis.hangFailure(actor, stale);
        }
      }
      if (failure === undefined) return;
      clearInterval(timer);
      reject(failure);
    }, 2);
  });
}
