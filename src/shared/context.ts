/**
 * A caller of the services: a device or a VM, on whichever thread it runs. It owns the
 * caller's reenter count, its lock stack, its statistics and the reason of its last failure,
 * and it dispatches each DDK service through the rules every service shares (interrupt time,
 * init-only). It is not the services themselves (services/) nor the coordinator.
 */
import { assert } from './assert.js';
import { ControlMessage } from './constants.js';
import { AC, ACTOR_WORDS, H, type Layout } from './layout.js';
import { Locker } from './lock.js';
import type { ServiceDef } from './services/service.js';

export type ActorKind = 'device' | 'vm';

/** The system phase words during which init-only services may be called. */
export function inInitialization(l: Layout): boolean {
  const phase = Atomics.load(l.header, H.phase);
  return (
    phase === ControlMessage.Sys_Critical_Init ||
    phase === ControlMessage.Device_Init ||
    phase === ControlMessage.Init_Complete
  );
}

export interface Refusal {
  service: string;
  reason: string;
}

export interface ServiceStats {
  calls: number;
  failures: Map<string, number>;
}

/** What the kernel core offers services beyond the buffer: callbacks and pressure. */
export interface KernelHooks {
  /** Pages reached the free list: Request 0 to the free-physical-region callbacks. */
  freeListGrew(): void;
  /** An allocation is short of `count` pages: Request 1; true if callbacks freed some. */
  pagesNeeded(count: number): boolean;
  /** Registers a callback of this actor; its id, or -1 when the table is full. */
  registerCallback(ctx: Context, callback: FreePhysRegCallback): number;
  /** Records a rule violation (a synchronous service at interrupt time, …). */
  violation(ctx: Context, message: string): void;
}

/** A free-physical-region callback: returns true to set carry ("fully handled"). */
export type FreePhysRegCallback = (request: number, pageCount: number) => boolean | void;

export class Context {
  readonly locker: Locker;
  readonly stats = new Map<string, ServiceStats>();
  lastError: Refusal | undefined;
  /** The DDK name of the service this context is in, for traces and failure reports. */
  service = '';
  private reenter = 0;

  constructor(
    readonly l: Layout,
    readonly hooks: KernelHooks,
    readonly actor: number,
    readonly kind: ActorKind,
    readonly name: string,
    /** The current VM: the system VM (0) for a device. */
    readonly vm: number,
  ) {
    this.locker = new Locker(l, actor);
  }

  /** Records why the current service failed and returns its failure value. */
  refuse<T>(value: T, reason: string): T {
    this.lastError = { service: this.service, reason };
    const stats = this.statsOf(this.service);
    stats.failures.set(reason, (stats.failures.get(reason) ?? 0) + 1);
    return value;
  }

  statsOf(service: string): ServiceStats {
    let stats = this.stats.get(service);
    if (stats === undefined) {
      stats = { calls: 0, failures: new Map() };
      this.stats.set(service, stats);
    }
    return stats;
  }

  get reenterCount(): number {
    return this.reenter;
  }

  /** Runs `fn` at simulated interrupt time: the reenter count is raised while it runs. */
  atInterrupt<T>(fn: () => T): T {
    this.setReenter(this.reenter + 1);
    let result: T;
    try {
      result = fn();
    } catch (error) {
      this.setReenter(this.reenter - 1);
      throw error;
    }
    if (result instanceof Promise) {
      return result.finally(() => this.setReenter(this.reenter - 1)) as T;
    }
    this.setReenter(this.reenter - 1);
    return result;
  }

  private setReenter(count: number): void {
    assert(count >= 0, 'atInterrupt: reenter count below zero');
    this.reenter = count;
    Atomics.store(this.l.actors, this.actor * ACTOR_WORDS + AC.reenterCount, count);
  }

  /** Calls one service through the shared rules. */
  dispatch(def: ServiceDef, args: unknown[]): unknown {
    this.service = def.name;
    this.statsOf(def.name).calls += 1;
    this.l.actors[this.actor * ACTOR_WORDS + AC.lastService] = def.ordinal;
    if (!def.async && this.reenter !== 0) {
      this.hooks.violation(this, `Synchronous service called from a nested interrupt: ${def.name}`);
      return this.refuse(def.failure(), 'Synchronous service called from a nested interrupt');
    }
    if (def.initOnly && !inInitialization(this.l)) {
      return this.refuse(def.failure(), 'only available during initialization');
    }
    const result = def.impl(this, ...(args as never[]));
    assert(this.locker.heldCount() === 0, `${def.name}: returned holding a lock`);
    return result;
  }
}
