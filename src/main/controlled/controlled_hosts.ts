/**
 * The host each actor of a controlled run gets (scenario.ts ActorHost): its safe points are
 * the run's scheduling points; its calls feed the trace (with the reason of a refusal), the
 * step's footprint (explore) and the pages shown by replay --until; its violations are kept.
 */
import type { ActorViolation } from '../../shared/protocol.js';
import type { ActorHost } from '../../shared/scenario/scenario.js';
import type { Kernel } from '../../shared/kernel.js';
import type { Actor, ControlledOptions, ControlledView } from './controlled_types.js';
import { Footprint } from './footprint.js';

/** The run's virtual clock: 1 µs per call in the trace. */
export interface VirtualClock {
  now: number;
}

export class ActorHosts {
  /** Violations the scenario's actors reported, in order. */
  readonly violations: ActorViolation[] = [];
  private readonly refusalCounts: number[] = [];
  private readonly touchedPages = new Set<number>();
  private readonly touching = new Footprint();

  constructor(
    private readonly o: ControlledOptions,
    private readonly actors: readonly Actor[],
    /** The step's footprint, for explore. */
    private readonly footprint: Footprint,
    private readonly clock: VirtualClock,
    private readonly safePoint: (
      index: number,
      service?: string,
      args?: readonly unknown[],
    ) => Promise<void>,
  ) {}

  /** The host of actor `index`: its safe points are the scheduling points. */
  host(index: number, vm: boolean): ActorHost {
    const trace = this.o.trace;
    const footprint = this.o.observer === undefined ? undefined : this.footprint;
    const onCall =
      trace === undefined && footprint === undefined && this.o.pauseAt === undefined
        ? undefined
        : (service: string, args: unknown[], result: unknown): void => {
            footprint?.add(service, args, result, vm);
            if (this.o.pauseAt !== undefined) this.touch(service, args, result);
            if (trace === undefined) return;
            this.clock.now += 2;
            const reason = this.lastRefusal(index, service);
            trace.call(index + 1, service, this.clock.now - 1, 1, args, result, reason);
          };
    return {
      safePoint: (service, args) => this.safePoint(index, service, args),
      violation: (actor, message, details) => {
        this.violations.push({ actor, message, ...details });
        const at = this.clock.now;
        this.o.trace?.instant(index + 1, `violation: ${message}`, at, { ...details }, true);
      },
      ...(onCall === undefined ? {} : { onCall }),
    };
  }

  /** The state between two steps (replay --until): the actors and the pages named so far. */
  view(step: number, kernel: Kernel): ControlledView {
    const actors = this.actors.map((a) => ({
      name: a.name,
      index: a.index,
      ctx: a.ctx,
      pending:
        a.pendingService === undefined
          ? undefined
          : { service: a.pendingService, args: a.pendingArgs ?? [] },
      done: a.done,
    }));
    const touched = [...this.touchedPages].sort((x, y) => x - y);
    return { step, kernel, actors, touched };
  }

  /**
   * The trace's mark of a decision: which step, and whether it preempts the actor that moved
   * last (`last`, stopped inside its step when `midStep`) while it could go on.
   */
  markDecision(
    step: number,
    pick: number,
    runnable: readonly number[],
    last: number | undefined,
    midStep: boolean,
  ): void {
    const preempts = last !== undefined && last !== pick && midStep && runnable.includes(last);
    const name = preempts ? `preemption: step ${step}` : `step ${step}`;
    const who = (i: number): string => this.actors[i]!.name;
    const args = { runnable: runnable.map(who), ...(preempts ? { preempted: who(last) } : {}) };
    this.clock.now += 1;
    this.o.trace?.instant(pick + 1, name, this.clock.now, args);
  }

  /** The reason the call just made by actor `index` was refused, if it was. */
  private lastRefusal(index: number, service: string): string | undefined {
    const refusal = this.actors[index]?.ctx.lastError;
    return refusal !== undefined && refusal.service === service && this.refusalsSeen(index)
      ? refusal.reason
      : undefined;
  }

  /** Whether actor `index` was refused since the last time this was asked. */
  private refusalsSeen(index: number): boolean {
    const ctx = this.actors[index]!.ctx;
    let refused = 0;
    for (const stats of ctx.stats.values()) for (const n of stats.failures.values()) refused += n;
    const before = this.refusalCounts[index] ?? 0;
    this.refusalCounts[index] = refused;
    return refused > before;
  }

  /** Keeps the pages a call named (for the state shown by replay --until). */
  private touch(service: string, args: unknown[], result: unknown): void {
    this.touching.add(service, args, result, false);
    for (const r of [...this.touching.reads, ...this.touching.writes])
      if (r < 0x100000 && r >= 0x400) this.touchedPages.add(r);
    this.touching.reset();
  }
}
