/**
 * The Free_Phys_Reg callbacks registered on this thread and the machine-wide callback table
 * (layout.ts `callbacks`: the owning actor of each global id, and its index on its thread).
 * This module owns that table. Which callback runs when is the phase driver's
 * (phases.ts callbackChain); where requests go when devices live in other workers is the
 * dispatcher's (the runtime's).
 */
import { fail } from './assert.js';
import { FREE_PHYS_REG_AVAILABLE, FREE_PHYS_REG_NEEDED } from './constants.js';
import {
  AC,
  ACTOR_DROPPED,
  ACTOR_LIVE,
  CALLBACK_MAX,
  CALLBACK_WORDS,
  H,
  type Layout,
  LOCK_MISC,
} from './layout.js';
import type { Context, FreePhysRegCallback } from './context.js';
import type { Locker } from './lock.js';
import { actorLoad } from './actor_record.js';
import { actorFlags } from './kernel_actors.js';
import { callbackChain, drive } from './phases.js';

/** How callback requests leave this thread when devices live in other workers. */
export interface CallbackDispatcher {
  /** Request 0: `freeCount` pages are on the free list. Asynchronous: returns at once. */
  freeListGrew(freeCount: number): void;
  /** Request 1: waits (bounded) for the chain to run; true if pages were freed. */
  pagesNeeded(count: number): boolean;
}

interface CallbackEntry {
  id: number;
  ctx: Context;
  fn: FreePhysRegCallback;
}

/** Registered callbacks in the machine-wide table, all threads together. */
const registered = (l: Layout): number => Math.min(l.header[H.calbkCount]!, CALLBACK_MAX);

/** Whether any Free_Phys_Reg callback is registered (read from any thread). */
export const anyCallbackRegistered = (l: Layout): boolean =>
  Atomics.load(l.header, H.calbkCount) !== 0;

/** The actor that registered callback `id`. */
const callbackOwner = (l: Layout, id: number): number => l.callbacks[id * CALLBACK_WORDS]!;

/** The callbacks of one thread's kernel. */
export class CallbackRegistry {
  private readonly entries: CallbackEntry[] = [];
  private dispatching = false;

  constructor(private readonly l: Layout) {}

  /**
   * Adds `fn` of `ctx` to the machine-wide table under LOCK_MISC (`locker` is the kernel's
   * host); its global id, or -1 when the table is full.
   */
  register(locker: Locker, ctx: Context, fn: FreePhysRegCallback): number {
    const l = this.l;
    if (!(actorLoad(l, ctx.actor, AC.state) === ACTOR_LIVE))
      fail('registerCallback: actor not live');
    locker.acquire(LOCK_MISC);
    const id = l.header[H.calbkCount]!;
    const ok = id < CALLBACK_MAX;
    if (ok) {
      l.callbacks[id * CALLBACK_WORDS] = ctx.actor;
      l.callbacks[id * CALLBACK_WORDS + 1] = this.entries.length;
      l.header[H.calbkCount] = id + 1;
    }
    locker.release(LOCK_MISC);
    if (!ok) return -1;
    this.entries.push({ id, ctx, fn });
    if (!(callbackOwner(l, id) === ctx.actor)) fail('registerCallback: table entry not owned', id);
    if (!(registered(l) > id)) fail('registerCallback: entry not counted', id);
    return id;
  }

  /** How many callbacks are registered. */
  count(): number {
    return registered(this.l);
  }

  /** The registered callbacks (global id, owning actor), in registration order. */
  owners(): { id: number; actor: number }[] {
    const owners = [];
    for (let id = 0; id < registered(this.l); id++)
      owners.push({ id, actor: callbackOwner(this.l, id) });
    return owners;
  }

  private dropped(entry: CallbackEntry): boolean {
    return (actorFlags(this.l, entry.ctx.actor) & ACTOR_DROPPED) !== 0;
  }

  /** Runs a callback registered on this thread, by its id; resolves to carry. */
  async runOne(id: number, request: number, count: number): Promise<boolean> {
    if (!(id >= 0 && id < registered(this.l))) fail('runCallback: not a registered id', id);
    const entry = this.entries.find((e) => e.id === id);
    if (entry === undefined || this.dropped(entry)) return false;
    const carry: unknown = await entry.fn(request, count);
    return carry === true;
  }

  /**
   * Runs this thread's callbacks as a chain until one sets carry (a dropped device's counts
   * as no carry). Not re-entered: pages that a callback frees while handling a request are
   * reported by the next Request 0.
   */
  runChain(request: number, count: number): void {
    if (!(request === FREE_PHYS_REG_AVAILABLE || request === FREE_PHYS_REG_NEEDED))
      fail('runChain: not a Free_Phys_Reg request', request);
    if (!(Number.isInteger(count) && count >= 0)) fail('runChain: not a page count', count);
    if (this.dispatching || this.entries.length === 0) return;
    this.dispatching = true;
    try {
      drive(
        callbackChain(this.l, this.entries),
        (entry) => !this.dropped(entry) && entry.fn(request, count) === true,
      );
    } finally {
      this.dispatching = false;
    }
  }
}
