/**
 * A caller of the services: a device or a VM, on whichever thread it runs. It owns the
 * caller's reenter count, its lock stack, its statistics and the reason of its last failure,
 * and it dispatches each DDK service through the rules every service shares (interrupt time,
 * init-only). It is not the services themselves (services/) nor the coordinator.
 */
import { assert, fail } from './assert.js';
import { ControlMessage } from './constants.js';
import { actorSlot, actorStore } from './actor_record.js';
import type { Layout } from './layout.js';
import { Locker } from './lock.js';
import { systemPhase, takeTicket } from './protocol.js';
import type { ServiceDef } from './services/service.js';
import { AC } from './layout.js';

export type ActorKind = 'device' | 'vm';

/** The system phase words during which init-only services may be called. */
export function inInitialization(l: Layout): boolean {
  const phase = systemPhase(l);
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
  /** Records a synchronous service called at interrupt time (its slot in the table). */
  violation(ctx: Context, serviceSlot: number): void;
}

/** A free-physical-region callback: returns true to set carry ("fully handled"). */
export type FreePhysRegCallback = (request: number, pageCount: number) => boolean | void;

/** Slots for per-service call counts; ServiceDef.slot indexes them. */
export const SERVICE_SLOTS = 64;

export class Context {
  readonly locker: Locker;
  /** Calls per service slot (a typed array: counting stays off the hot path's heap). */
  readonly callCounts = new Float64Array(SERVICE_SLOTS);
  private readonly slotNames: string[] = [];
  private readonly failures = new Map<string, Map<string, number>>();
  /** Why the last service call failed; undefined when it succeeded. */
  lastError: Refusal | undefined;
  /**
   * When set (vmmsim run --record), the global ticket of each task-time call, taken as the
   * call starts: the order in which calls took effect across threads.
   */
  recording: number[] | undefined;
  /** The DDK name of the service this context is in, for traces and failure reports. */
  service = '';
  /** The free physical region this caller used last: a hint for services/region.ts. */
  regionHint = -1;
  private reenter = 0;
  /** Where this actor's words `calls`, `lastService` and `page` lie: every call writes them. */
  private readonly callsSlot: number;
  private readonly lastServiceSlot: number;
  private readonly pageSlot: number;

  constructor(
    readonly l: Layout,
    readonly hooks: KernelHooks,
    readonly actor: number,
    readonly kind: ActorKind,
    readonly name: string,
    /** The VM this context belongs to: its own for a VM, the system VM (0) for a device. */
    readonly homeVm: number,
  ) {
    this.locker = new Locker(l, actor);
    this.callsSlot = actorSlot(l, actor, AC.calls);
    this.lastServiceSlot = actorSlot(l, actor, AC.lastService);
    this.pageSlot = actorSlot(l, actor, AC.page);
    this.vm = homeVm;
  }

  /**
   * The current VM of the service being run: homeVm, or the VM a device acts for while it
   * calls a service through its view of that VM (dispatchIn).
   */
  vm: number;

  /** Publishes the first linear page the current service works on (the wait-for graph). */
  notePage(page: number): void {
    this.l.actors[this.pageSlot] = page;
  }

  /** Records why the current service failed and returns its failure value. */
  refuse<T>(value: T, reason: string): T {
    this.lastError = { service: this.service, reason };
    this.errorDepth = this.depth;
    let reasons = this.failures.get(this.service);
    if (reasons === undefined) {
      reasons = new Map();
      this.failures.set(this.service, reasons);
    }
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    return value;
  }

  /** Calls and failure reasons per service, for reports. */
  get stats(): Map<string, ServiceStats> {
    const stats = new Map<string, ServiceStats>();
    this.callCounts.forEach((calls, slot) => {
      const name = this.slotNames[slot];
      if (calls > 0 && name !== undefined)
        stats.set(name, { calls, failures: this.failures.get(name) ?? new Map() });
    });
    return stats;
  }

  /** Total service calls this context made. */
  get callTotal(): number {
    return this.calls;
  }

  /** Service calls this context made (the sum of callCounts, kept as they happen). */
  private calls = 0;

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
    if (!(count >= 0)) fail('atInterrupt: reenter count below zero');
    this.reenter = count;
    this.locker.atInterrupt = count > 0;
    actorStore(this.l, this.actor, AC.reenterCount, count);
  }

  /**
   * Calls one service through the shared rules. Fixed arity (no rest arguments): this is on
   * every service's hot path.
   */
  dispatch(
    def: ServiceDef,
    a?: unknown,
    b?: unknown,
    c?: unknown,
    d?: unknown,
    e?: unknown,
    f?: unknown,
    g?: unknown,
    h?: unknown,
  ): unknown {
    if (this.broken !== undefined) throw this.broken;
    // A service called from inside another (a callback of a Request 1): afterwards the outer
    // one is again the current service, for its refusals and for the wait-for graph.
    const nested = this.depth > 0;
    const outer = this.service;
    const lastService = this.lastServiceSlot;
    const outerOrdinal = this.l.actors[lastService]!;
    this.depth += 1;
    try {
      return this.call(def, a, b, c, d, e, f, g, h);
    } finally {
      // A refusal of a call made from inside this one (a callback's) is not this call's.
      if (this.errorDepth > this.depth) this.lastError = undefined;
      this.depth -= 1;
      if (nested) {
        this.service = outer;
        this.l.actors[lastService] = outerOrdinal;
      }
    }
  }

  /**
   * Calls one service with `vm` as the current VM (a device acting for a VM, as when the VMM
   * calls a device while that VM runs); the previous current VM is restored afterwards.
   */
  dispatchIn(
    vm: number,
    def: ServiceDef,
    a?: unknown,
    b?: unknown,
    c?: unknown,
    d?: unknown,
    e?: unknown,
    f?: unknown,
    g?: unknown,
    h?: unknown,
  ): unknown {
    const outer = this.vm;
    this.vm = vm;
    try {
      return this.dispatch(def, a, b, c, d, e, f, g, h);
    } finally {
      this.vm = outer;
    }
  }

  /** The depth of the call that set lastError. */
  private errorDepth = 0;

  /** Services being run by this context: 1 in a service, 2 in one called from inside it. */
  private depth = 0;

  private call(
    def: ServiceDef,
    a?: unknown,
    b?: unknown,
    c?: unknown,
    d?: unknown,
    e?: unknown,
    f?: unknown,
    g?: unknown,
    h?: unknown,
  ): unknown {
    this.service = def.name;
    this.lastError = undefined; // the reason of this call's failure, or none if it succeeds
    this.callCounts[def.slot]! += 1;
    this.calls += 1;
    const actors = this.l.actors;
    actors[this.callsSlot]! += 1;
    actors[this.lastServiceSlot] = def.ordinal;
    if (this.slotNames[def.slot] === undefined) this.slotNames[def.slot] = def.name;
    if (!def.async && this.reenter !== 0) {
      this.hooks.violation(this, def.slot);
      return this.refuse(def.failure(), 'Synchronous service called from a nested interrupt');
    }
    if (def.initOnly && !inInitialization(this.l)) {
      return this.refuse(def.failure(), 'only available during initialization');
    }
    if (this.recording !== undefined && this.reenter === 0) {
      this.recording.push(takeTicket(this.l));
    }
    const impl = def.impl as (ctx: Context, ...rest: unknown[]) => unknown;
    let result: unknown;
    try {
      result = impl(this, a, b, c, d, e, f, g, h);
    } catch (error) {
      if (this.locker.heldCount() !== 0) this.broken = error;
      throw error;
    }
    if (this.locker.heldCount() !== 0) assert(false, 'service returned holding a lock', def.name);
    return result;
  }

  /**
   * What escaped a service while it held locks. The context is dead from then on: its locks
   * stay held (owner-dead once the runtime declares it crashed) and every later call rethrows
   * this, so that a caller who caught it (a callback's worker, a scenario) cannot go on with
   * a lock stack that no longer matches the buffer and be blamed for what follows.
   */
  broken: unknown;
}
