/**
 * Free_Phys_Reg callback routing on real threads: the coordinator's main thread sees Request 0
 * notices (H.callbackPending) and Request 1 waits (an actor's `pressure` word) in the buffer
 * and runs the chain (phases.ts callbackChain) in the workers of the devices that registered
 * the callbacks. It never blocks: it polls and awaits.
 */
import { FREE_PHYS_REG_AVAILABLE, FREE_PHYS_REG_NEEDED } from '../../shared/constants.js';
import { freeCount } from '../../shared/frames.js';
import type { Kernel } from '../../shared/kernel.js';
import { callbackChain, driveAsync } from '../../shared/phases.js';
import {
  awaitPressureRequests,
  CONTROL_TIMEOUT_MS,
  freeListNotices,
  noteFreeListGrew,
  pressureRequests,
  pressureServed,
  pressureWanted,
} from '../../shared/protocol.js';
import { ActorFailureError, type ActorHandle } from './worker_host.js';

interface Waiting {
  request: number;
  count: () => number;
  after?: () => void;
}

export class CallbackRouter {
  /** Request 0 chains queued, Request 1 chains queued, callbacks called. */
  request0 = 0;
  request1 = 0;
  callbackCalls = 0;
  /** The chains running now (awaited at the end of the run phase). */
  chain: Promise<void> = Promise.resolve();
  /** The first actor failure in a callback (the watcher ends the run with it). */
  chainFailure: ActorFailureError | undefined;
  private lastPending = 0;
  private readonly serving = new Set<number>();

  constructor(
    private readonly kernel: Kernel,
    /** Every device handle, in load order. */
    private readonly devices: () => readonly ActorHandle[],
    /** Every device and VM handle (who may post a Request 1). */
    private readonly actors: () => readonly ActorHandle[],
    private readonly isDropped: (device: ActorHandle) => boolean,
  ) {}

  /** Init_Complete: the free list is there to be told of (the first Request 0). */
  noteFreeListGrew(): void {
    noteFreeListGrew(this.kernel.layout);
  }

  /** Runs the callback chain (phases.ts) in the owners' workers; dropped devices have none. */
  private async runChain(request: number, count: number): Promise<void> {
    const devices = this.devices();
    const live = this.kernel.callbackOwners().filter((o) => {
      const device = devices.find((d) => d.actor === o.actor);
      return device !== undefined && !this.isDropped(device);
    });
    await driveAsync(callbackChain(this.kernel.layout, live), (owner) => {
      const device = devices.find((d) => d.actor === owner.actor)!;
      this.callbackCalls += 1;
      return device.call(`callback (Request ${request})`, CONTROL_TIMEOUT_MS, (api) =>
        api.callback(owner.id, request, count),
      );
    });
  }

  /**
   * Callback chains not yet run. Request 1 goes first (a caller is blocked until its chain has
   * run); Request 0 is a notice, so one waiting chain stands for every notice since the last
   * one began. One chain runs at a time; a device that fails in a callback fails the run (the
   * watcher picks it up) and the chains after it still run.
   */
  private readonly waiting: Waiting[] = [];
  private request0Waiting = false;
  private draining = false;

  private enqueue(item: Waiting): void {
    this.waiting.push(item);
    if (!this.draining) this.chain = this.drain();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      for (;;) {
        const urgent = this.waiting.findIndex((w) => w.request === FREE_PHYS_REG_NEEDED);
        const next = urgent >= 0 ? this.waiting.splice(urgent, 1)[0] : this.waiting.shift();
        if (next === undefined) return;
        if (next.request === FREE_PHYS_REG_AVAILABLE) this.request0Waiting = false;
        try {
          await this.runChain(next.request, next.count());
        } catch (error) {
          if (!(error instanceof ActorFailureError)) throw error;
          this.chainFailure ??= error;
        } finally {
          next.after?.();
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /** One poll of the buffer: Request 0 notices, Request 1 waiters. */
  poll(): void {
    const l = this.kernel.layout;
    const pending = freeListNotices(l);
    if (pending !== this.lastPending && !this.request0Waiting) {
      this.lastPending = pending;
      this.request0 += 1;
      this.request0Waiting = true;
      this.enqueue({ request: FREE_PHYS_REG_AVAILABLE, count: () => freeCount(l) });
    }
    this.pollPressure();
  }

  /** Queues a Request 1 chain for each actor that posted a wait not yet served. */
  private pollPressure(): void {
    const l = this.kernel.layout;
    for (const { actor } of this.actors()) {
      if (actor < 0 || this.serving.has(actor)) continue;
      const wanted = pressureWanted(l, actor);
      if (wanted === 0) continue;
      this.serving.add(actor);
      this.request1 += 1;
      this.enqueue({
        request: FREE_PHYS_REG_NEEDED,
        count: () => wanted,
        after: () => {
          this.serving.delete(actor);
          // The waiter sleeps on pressureSeq: bump it, then wake it.
          pressureServed(l, actor);
        },
      });
    }
  }

  /**
   * Serves Request 1 waits the moment a worker posts one (it bumps H.pressureRequests and
   * wakes this loop), not at the next 2 ms poll: a VM short of memory waits for its chain,
   * so that latency is its own. Atomics.waitAsync never blocks the main thread.
   */
  async servePressure(done: { value: boolean }): Promise<void> {
    const l = this.kernel.layout;
    let seen = pressureRequests(l);
    while (!done.value) {
      await awaitPressureRequests(l, seen, 50);
      seen = pressureRequests(l);
      if (!done.value) this.pollPressure();
    }
  }
}
