/**
 * Controlled mode: one scenario run with every actor a coroutine on this thread, and every
 * service call a scheduling point where the scheduler picks which actor moves next. The
 * same scenario code as on real threads; the decisions and the seed make the schedule, so
 * a run repeats exactly. Control messages, callbacks and the finish run without choices.
 * It is not the free-running coordinator (coordinator.ts) and starts no thread.
 */
import type { Violation } from '../../shared/checker.js';
import {
  FREE_PHYS_REG_AVAILABLE,
  FREE_PHYS_REG_NEEDED,
  VNE_Closed,
} from '../../shared/constants.js';
import { type Kernel, pooledKernel } from '../../shared/kernel.js';
import type { ActorViolation } from '../../shared/protocol.js';
import {
  type ActorHost,
  type DeviceActor,
  type DeviceProgram,
  makeActor,
  type ScenarioDefinition,
  type VmActor,
  type VmProgram,
} from '../../shared/scenario/scenario.js';
import type { Context } from '../../shared/context.js';
import { ExplorePruned, ReplayDivergence, type Scheduler } from './schedulers/scheduler.js';
import { Footprint, R } from './footprint.js';
import { stepSeed } from '../../shared/prng.js';
import { callbackChain, type Delivery, driveAsync, PhaseDriver } from '../../shared/phases.js';
import { freeCount } from '../../shared/frames.js';
import type { Trace } from '../../shared/trace.js';

export interface ControlledOptions {
  seed: number;
  /** Scheduling decisions at most in the run phase. */
  stepsMax: number;
  /** Run the full checker every this many steps (1: after every step; 0: only at the end). */
  checkEvery: number;
  /** Chance, in 1/1024 per step, that the scheduler raises an interrupt in a device. */
  interruptPer1024: number;
  /** Collects Chrome trace events when given (the virtual clock: 1 µs per call). */
  trace?: Trace;
  /** Told of every step with its footprint (explore); footprints are recorded only then. */
  observer?: StepObserver;
  /** Stops the run before decision `step` and shows its state (replay --until). */
  pauseAt?: { step: number; onPause(view: ControlledView): void };
}

/** The state of a controlled run between two steps, for replay --until. */
export interface ControlledView {
  step: number;
  kernel: Kernel;
  actors: {
    name: string;
    index: number;
    ctx: Context;
    pending: { service: string; args: readonly unknown[] } | undefined;
    done: boolean;
  }[];
  /** Linear pages named by the calls made so far (outside the per-VM V86 region). */
  touched: number[];
}

/** What explore watches: each step's actor and footprint, after the step. */
export interface StepObserver {
  onStep(actor: number, footprint: Footprint, kernel: Kernel): void;
}

export type FailureKind = 'violation' | 'data' | 'assertion' | 'threw' | 'hung' | 'divergence';

export interface ControlledFailure {
  kind: FailureKind;
  message: string;
  step: number;
  actor?: string;
  /** Where it happened: in the wind-down (after stepsMax, actors finishing their steps) or
   * in finish() and the teardown after it; absent for the run phase and boot. */
  phase?: 'wind-down' | 'finish';
  /** The stack of a throw. */
  stack?: string;
}

export interface ControlledResult {
  decisions: number[];
  steps: number;
  traceHash: string;
  actorNames: string[];
  failure?: ControlledFailure;
  /**
   * Stopped early without a failure: explore reached a state equivalent to one it has
   * explored already, or replay --until reached its step.
   */
  pruned?: boolean;
}

interface Actor {
  name: string;
  ctx: Context;
  program: DeviceProgram & VmProgram;
  isDevice: boolean;
  parked: (() => void) | undefined;
  done: boolean;
  pendingIrq: number;
  /** Its index in the run's actors (the number decisions use). */
  index: number;
  /** The scenario's view of it; its generator is reseeded for each step. */
  api: DeviceActor | VmActor;
  seed: number;
  /** Steps started. */
  stepsStarted: number;
  /** The call it waits to make at its scheduling point (none: between steps). */
  pendingService?: string | undefined;
  pendingArgs?: readonly unknown[] | undefined;
}

const TURN_TIMEOUT_MS = 2_000;
/** Service calls in a row allowed outside scheduling points before a run is called hung. */
const UNSCHEDULED_CALLS_MAX = 200_000;
/** Decisions allowed after stepsMax for the actors to finish the steps they are in. */
const TAIL_STEPS_MAX = 5_000;

/** FNV-1a over 32-bit words: the trace hash of a run. */
class TraceHash {
  private h = 0x811c9dc5;
  add(value: number): void {
    for (let shift = 0; shift < 32; shift += 8) {
      this.h = Math.imul(this.h ^ ((value >>> shift) & 0xff), 0x01000193) >>> 0;
    }
  }
  get hex(): string {
    return this.h.toString(16).padStart(8, '0');
  }
}

export class ControlledRun {
  readonly kernel: Kernel;
  private readonly actors: Actor[] = [];
  private readonly violations: ActorViolation[] = [];
  private readonly decisions: number[] = [];
  private readonly hash = new TraceHash();
  private passthrough = true;
  private stopping = false;
  private turnDone: (() => void) | undefined;
  private failure: ControlledFailure | undefined;
  private request0 = false;
  private request1 = 0;
  private step = 0;
  private clock = 0;
  private unscheduledCalls = 0;
  private readonly releaseKernel: () => void;
  /** The devices and the control messages they get (no scheduling choices). */
  private readonly phases: PhaseDriver<Actor>;

  constructor(
    private readonly scenario: ScenarioDefinition,
    private readonly o: ControlledOptions,
    private readonly scheduler: Scheduler,
  ) {
    const pooled = pooledKernel(scenario.machine ?? {});
    this.kernel = pooled.kernel;
    this.releaseKernel = pooled.release;
    this.phases = new PhaseDriver(this.kernel);
    this.kernel.setCallbackDispatcher({
      freeListGrew: () => void (this.request0 = true),
      pagesNeeded: (count) => {
        this.request1 = Math.max(this.request1, count);
        return false; // the chain runs at the next scheduling point; this allocation fails
      },
    });
  }

  /** The host of actor `index`: its safe points are the scheduling points. */
  private host(index: number, vm: boolean): ActorHost {
    const trace = this.o.trace;
    const footprint = this.o.observer === undefined ? undefined : this.footprint;
    const onCall =
      trace === undefined && footprint === undefined && this.o.pauseAt === undefined
        ? undefined
        : (service: string, args: unknown[], result: unknown): void => {
            footprint?.add(service, args, result, vm);
            if (this.o.pauseAt !== undefined) this.touch(service, args, result);
            if (trace === undefined) return;
            this.clock += 2;
            const reason = this.lastRefusal(index, service);
            trace.call(index + 1, service, this.clock - 1, 1, args, result, reason);
          };
    return {
      safePoint: (service, args) => this.safePoint(index, service, args),
      violation: (actor, message, details) => {
        this.violations.push({ actor, message, ...details });
        this.o.trace?.instant(index + 1, `violation: ${message}`, this.clock, { ...details }, true);
      },
      ...(onCall === undefined ? {} : { onCall }),
    };
  }

  /** The reason the call just made by actor `index` was refused, if it was. */
  private lastRefusal(index: number, service: string): string | undefined {
    const refusal = this.actors[index]?.ctx.lastError;
    return refusal !== undefined && refusal.service === service && this.refusalsSeen(index)
      ? refusal.reason
      : undefined;
  }

  private readonly refusalCounts: number[] = [];

  /** Whether actor `index` was refused since the last time this was asked. */
  private refusalsSeen(index: number): boolean {
    const ctx = this.actors[index]!.ctx;
    let refused = 0;
    for (const stats of ctx.stats.values()) for (const n of stats.failures.values()) refused += n;
    const before = this.refusalCounts[index] ?? 0;
    this.refusalCounts[index] = refused;
    return refused > before;
  }

  private readonly footprint = new Footprint();
  private readonly touchedPages = new Set<number>();
  private readonly touching = new Footprint();

  /** Keeps the pages a call named (for the state shown by replay --until). */
  private touch(service: string, args: unknown[], result: unknown): void {
    this.touching.add(service, args, result, false);
    for (const r of [...this.touching.reads, ...this.touching.writes])
      if (r < 0x100000 && r >= 0x400) this.touchedPages.add(r);
    this.touching.reset();
  }

  private view(): ControlledView {
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
    return { step: this.step, kernel: this.kernel, actors, touched };
  }
  private sharedBefore: Int32Array | undefined;

  private async safePoint(
    index: number,
    service?: string,
    args?: readonly unknown[],
  ): Promise<void> {
    const actor = this.actors[index]!;
    actor.pendingService = service;
    actor.pendingArgs = args;
    if (actor.ctx.reenterCount === 0 && actor.pendingIrq > 0 && actor.program.interrupt) {
      actor.pendingIrq -= 1;
      this.footprint.all = true;
      const handler = actor.program.interrupt.bind(actor.program);
      const from = this.clock;
      await actor.ctx.atInterrupt(async () => handler(0));
      this.o.trace?.slice(index + 1, 'interrupt', from, Math.max(this.clock - from, 1));
    }
    if (this.passthrough || actor.ctx.reenterCount > 0) {
      // Calls without a scheduling point (control, callbacks, finish, interrupt handlers)
      // are bounded: a loop there would spin in microtasks where no timer can stop it.
      this.unscheduledCalls += 1;
      if (this.unscheduledCalls > UNSCHEDULED_CALLS_MAX) {
        throw new Error(
          `${actor.name}: ${UNSCHEDULED_CALLS_MAX} service calls without a scheduling point`,
        );
      }
      return;
    }
    this.unscheduledCalls = 0;
    // Park: this actor waits here until the scheduler picks it.
    await new Promise<void>((resume) => {
      actor.parked = resume;
      this.turnDone?.();
    });
  }

  private addDevice(index: number): void {
    const def = this.scenario.devices[index]!;
    const ctx = this.kernel.device(def.name, { initOrder: def.initOrder });
    const seed = this.actorSeed(index);
    const extras = { seed, shared: this.kernel.layout.scenarioWords, options: def.options ?? {} };
    const api = makeActor<DeviceActor>(
      this.kernel,
      ctx,
      this.host(this.actors.length, false),
      extras,
    );
    const actor: Actor = {
      name: def.name,
      ctx,
      program: def.create(api),
      isDevice: true,
      parked: undefined,
      done: false,
      pendingIrq: 0,
      index: this.actors.length,
      api,
      seed,
      stepsStarted: 0,
    };
    this.actors.push(actor);
    // The init order of the first device of this name (as the schedule has always used).
    const initOrder = this.scenario.devices.find((d) => d.name === def.name)?.initOrder ?? 0;
    this.phases.add(actor, ctx.actor, initOrder);
  }

  private actorSeed(index: number): number {
    return (this.o.seed * 1_000_003 + index) >>> 0;
  }

  /** A device's control procedure, as a coroutine that makes no scheduling choice; its carry. */
  private readonly deliver = async (d: Delivery<Actor>): Promise<boolean> =>
    (await d.device.program.control?.(d.message, d.vmHandle, d.edx)) === true;

  /** Boot, VMs, the controlled run, finish and exit; the result with its failure, if any. */
  async run(): Promise<ControlledResult> {
    const trace = this.o.trace;
    try {
      this.scenario.devices.forEach((_, i) => this.addDevice(i));
      const vmHandles = await this.boot();
      if (vmHandles !== undefined) {
        await this.runPhase();
        await this.finishAll(vmHandles);
      }
    } catch (error) {
      if (error instanceof ExplorePruned) this.pruned = true;
      else this.fail(error);
    }
    if (this.failure === undefined && !this.pruned) this.checkNow({ final: true });
    // A hung actor may still wake up later and write: its buffer is never reused.
    if (this.failure?.kind !== 'hung') this.releaseKernel();
    if (trace !== undefined) {
      this.actors.forEach((a, i) => trace.track(i + 1, a.name));
      const f = this.failure;
      if (f !== undefined) trace.instant(0, `${f.kind}: ${f.message}`, this.clock + 1, {}, true);
    }
    return {
      decisions: this.decisions,
      steps: this.step,
      traceHash: this.hash.hex,
      actorNames: this.actors.map((a) => a.name),
      ...(this.failure === undefined ? {} : { failure: this.failure }),
      ...(this.pruned ? { pruned: true } : {}),
    };
  }

  private async boot(): Promise<number[] | undefined> {
    await driveAsync(this.phases.initialize(), this.deliver);
    await this.runChains(true);
    if (!(await driveAsync(this.phases.systemVmInit(), this.deliver))) return undefined;
    const handles: number[] = [];
    for (let index = 0; index < this.scenario.vms.length; index++) {
      const handle = this.kernel.newVmSpace();
      if ((await driveAsync(this.phases.createVm(handle), this.deliver)) !== undefined) continue;
      const def = this.scenario.vms[index]!;
      const ctx = this.kernel.vm(handle, def.name);
      const seed = this.actorSeed(500 + index);
      const shared = this.kernel.layout.scenarioWords;
      const extras = { seed, shared, options: def.options ?? {} };
      const api = makeActor<VmActor>(this.kernel, ctx, this.host(this.actors.length, true), extras);
      this.actors.push({
        name: def.name,
        ctx,
        program: def.create(api),
        isDevice: false,
        parked: undefined,
        done: false,
        pendingIrq: 0,
        index: this.actors.length,
        api,
        seed,
        stepsStarted: 0,
      });
      handles.push(handle);
    }
    return handles;
  }

  /** Runs the queued Request 0 / Request 1 chains, without scheduling choices. */
  private async runChains(request0Only = false): Promise<void> {
    const owners = this.kernel.callbackOwners().filter((o) => {
      const owner = this.actors.find((a) => a.ctx.actor === o.actor);
      return owner !== undefined && !this.phases.isDropped(owner);
    });
    const chain = (request: number, count: number): Promise<boolean> =>
      driveAsync(callbackChain(this.kernel.layout, owners), async (owner) => {
        const from = this.clock;
        this.chainsRan = true;
        const carry = await this.kernel.runCallback(owner.id, request, count);
        const tid = this.actors.findIndex((a) => a.ctx.actor === owner.actor) + 1;
        const dur = Math.max(this.clock - from, 1);
        this.o.trace?.slice(tid, `callback Request ${request}`, from, dur, { count, carry });
        return carry;
      });
    const was = this.passthrough;
    this.passthrough = true;
    if (this.request1 > 0 && !request0Only) {
      const count = this.request1;
      this.request1 = 0;
      await chain(FREE_PHYS_REG_NEEDED, count);
    }
    if (this.request0 || request0Only) {
      this.request0 = false;
      const free = freeCount(this.kernel.layout);
      if (free > 0) await chain(FREE_PHYS_REG_AVAILABLE, free);
      this.request0 = false;
    }
    this.passthrough = was;
  }

  private startTasks(): Actor[] {
    const runners = this.actors.filter(
      (a) => a.program.step !== undefined && !this.phases.isDropped(a),
    );
    for (const actor of runners) {
      const loop = async (): Promise<void> => {
        while (!this.stopping) {
          actor.stepsStarted += 1;
          actor.api.random.reseed(stepSeed(actor.seed, actor.stepsStarted));
          const turns = this.turnsStarted;
          await actor.program.step!();
          // A step that reached no scheduling point (it only looked at shared words and
          // returned) yields here: one decision, so that it cannot spin the others out.
          if (this.turnsStarted === turns && !this.stopping) await this.safePoint(actor.index);
        }
      };
      loop()
        .catch((error: unknown) => this.fail(error, actor))
        .finally(() => {
          actor.done = true;
          this.turnDone?.();
        });
    }
    return runners;
  }

  /** Waits until the actor that was let go parks again, finishes, or the bound passes. */
  /**
   * Waits until the actor that was let go parks again or finishes. One watchdog timer per
   * run (not one per turn: a turn is microseconds) ends a turn that makes no progress.
   */
  private async turn(actor: Actor): Promise<boolean> {
    const settled = await new Promise<boolean>((resolve) => {
      this.turnDone = () => resolve(true);
      this.turnTimeout = () => resolve(false);
    });
    this.turnDone = undefined;
    this.turnTimeout = undefined;
    if (!settled) {
      const message = `${actor.name} neither reached a service call nor finished`;
      this.failure ??= { kind: 'hung', message, step: this.step, actor: actor.name };
    }
    return settled;
  }

  private turnTimeout: (() => void) | undefined;
  private turnsStarted = 0;

  /** Fails the turn in progress if no turn started since the last tick. */
  private watchdog(): NodeJS.Timeout {
    let seen = -1;
    const timer = setInterval(() => {
      if (this.turnTimeout !== undefined && seen === this.turnsStarted) this.turnTimeout();
      seen = this.turnsStarted;
    }, TURN_TIMEOUT_MS);
    timer.unref();
    return timer;
  }

  private async runPhase(): Promise<void> {
    this.passthrough = false;
    const watchdog = this.watchdog();
    try {
      await this.controlledSteps();
    } finally {
      clearInterval(watchdog);
    }
  }

  private async controlledSteps(): Promise<void> {
    if (this.o.observer !== undefined) {
      this.footprint.reset();
      this.chainsRan = false;
      this.sharedBefore = Int32Array.from(this.kernel.layout.scenarioWords);
    }
    const runners = this.startTasks();
    const runnable: number[] = [];
    // Every task runs to its first scheduling point (a few microtask hops each) before the
    // first decision, so that the first runnable set never depends on promise depth.
    for (
      let hop = 0;
      hop < 10_000 && runners.some((a) => a.parked === undefined && !a.done);
      hop++
    ) {
      await Promise.resolve();
    }
    // Up to stepsMax decisions start new steps; after that no actor starts a new step and
    // the scheduler keeps choosing until each has finished the step it is in. Those last
    // decisions are part of the schedule too: a replay and a shrink see every interleaving.
    while (this.failure === undefined) {
      if (this.step >= this.o.stepsMax) this.stopping = true;
      if (this.step >= this.o.stepsMax + TAIL_STEPS_MAX) {
        const busy = runners.filter((a) => !a.done).map((a) => a.name);
        const message = `${busy.join(', ')} did not finish a step in ${TAIL_STEPS_MAX} decisions`;
        this.failure = {
          kind: 'hung',
          message,
          step: this.step,
          ...(busy[0] ? { actor: busy[0] } : {}),
        };
        break;
      }
      if (this.o.pauseAt?.step === this.step) {
        this.o.pauseAt.onPause(this.view());
        throw new ExplorePruned('paused');
      }
      runnable.length = 0;
      for (const a of runners) if (a.parked !== undefined && !a.done) runnable.push(a.index);
      if (runnable.length === 0) break;
      this.maybeInterrupt();
      const pick = this.scheduler.next(runnable, this.step, this.lastMidStep);
      if (this.o.trace !== undefined) this.markDecision(pick, runnable);
      this.decisions.push(pick);
      const actor = this.actors[pick]!;
      const resume = actor.parked!;
      actor.parked = undefined;
      this.turnsStarted += 1;
      const stepsBefore = actor.stepsStarted;
      resume();
      if (!(await this.turn(actor))) break;
      this.lastMidStep = actor.stepsStarted === stepsBefore && !actor.done;
      this.afterStep(actor);
      await this.runChains();
      if (this.o.observer !== undefined) this.observe(pick);
    }
    this.stopping = true;
    this.passthrough = true; // finish, VM teardown and exit make no scheduling choices
  }

  /**
   * The trace's mark of a decision: which step, and whether it preempts the actor that moved
   * last (cuts into its step while it could go on).
   */
  private markDecision(pick: number, runnable: readonly number[]): void {
    const last = this.decisions[this.decisions.length - 1];
    const preempts =
      last !== undefined && last !== pick && this.lastMidStep && runnable.includes(last);
    const name = preempts ? `preemption: step ${this.step}` : `step ${this.step}`;
    const who = (i: number): string => this.actors[i]!.name;
    const args = { runnable: runnable.map(who), ...(preempts ? { preempted: who(last) } : {}) };
    this.clock += 1;
    this.o.trace!.instant(pick + 1, name, this.clock, args);
  }

  /** Tells the observer the step's footprint (shared words compared with before the step). */
  private observe(actor: number): void {
    const words = this.kernel.layout.scenarioWords;
    const before = (this.sharedBefore ??= new Int32Array(words.length));
    const fp = this.footprint;
    if (this.chainsRan) fp.all = true;
    this.chainsRan = false;
    for (let i = 0; i < words.length; i++) {
      if (words[i] === before[i]) continue;
      fp.writes.push(R.shared);
      before.set(words);
      break;
    }
    this.o.observer!.onStep(actor, fp, this.kernel);
    fp.reset();
  }

  private chainsRan = false;
  /** The actor that moved last stopped inside its step (not between two steps). */
  private lastMidStep = false;

  private maybeInterrupt(): void {
    if (this.o.interruptPer1024 <= 0) return;
    const seedMix = Math.imul(this.step + 1, 0x9e3779b1) ^ this.o.seed;
    if ((seedMix >>> 0) % 1024 >= this.o.interruptPer1024) return;
    const devices = this.actors.filter((a) => a.isDevice && a.program.interrupt !== undefined);
    if (devices.length > 0) devices[(seedMix >>> 10) % devices.length]!.pendingIrq += 1;
  }

  private afterStep(actor: Actor): void {
    this.step += 1;
    this.clock += 5;
    const free = freeCount(this.kernel.layout);
    this.o.trace?.counter('free pages', this.clock, free);
    this.hash.add(this.actors.indexOf(actor));
    this.hash.add(actor.ctx.callTotal);
    this.hash.add(free);
    if (this.violations[0] !== undefined) {
      this.dataFailure();
    } else if (this.o.checkEvery > 0 && this.step % this.o.checkEvery === 0) {
      this.checkNow({});
    }
  }

  private async finishAll(vmHandles: number[]): Promise<void> {
    if (this.failure !== undefined) return;
    this.finishing = true;
    for (const actor of this.actors) await actor.program.finish?.();
    await this.runChains();
    for (const handle of vmHandles)
      await driveAsync(this.phases.endVm(handle, true, VNE_Closed), this.deliver);
    await driveAsync(this.phases.exit(), this.deliver);
  }

  private checkNow(options: { final?: boolean }): void {
    const found: Violation[] = this.kernel.check(options);
    const v = found[0];
    if (v !== undefined) {
      const message = `[${v.kind}] ${v.message}`;
      this.failure ??= { kind: 'violation', message, step: this.step, ...this.phase() };
    }
    this.dataFailure();
  }

  /** The first violation a scenario reported, as the run's failure: `[kind] actor: message`. */
  private dataFailure(): void {
    const d = this.violations[0];
    if (d === undefined) return;
    const label = d.kind !== undefined && /^[\w-]{1,40}$/.test(d.kind) ? d.kind : 'data';
    this.failure ??= {
      kind: 'data',
      message: `[${label}] ${d.actor}: ${d.message}`,
      step: this.step,
      actor: d.actor,
      ...this.phase(),
    };
  }

  /** The phase a failure found now happened in, when not the run phase. */
  private phase(): { phase?: 'wind-down' | 'finish' } {
    if (this.finishing) return { phase: 'finish' };
    return this.step > this.o.stepsMax ? { phase: 'wind-down' } : {};
  }

  private finishing = false;
  private pruned = false;

  private fail(error: unknown, actor?: Actor): void {
    const e = error as Error;
    const kind: FailureKind =
      e instanceof ReplayDivergence
        ? 'divergence'
        : e?.name === 'AssertionError'
          ? 'assertion'
          : 'threw';
    const stack = kind === 'threw' && typeof e?.stack === 'string' ? { stack: e.stack } : {};
    this.failure ??= {
      kind,
      message: e?.message ?? String(error),
      step: this.step,
      ...(actor === undefined ? {} : { actor: actor.name }),
      ...this.phase(),
      ...stack,
    };
  }
}

/** One controlled run of `scenario` under `scheduler`. */
export function runControlled(
  scenario: ScenarioDefinition,
  options: ControlledOptions,
  scheduler: Scheduler,
): Promise<ControlledResult> {
  return new ControlledRun(scenario, options, scheduler).run();
}
