/**
 * Controlled mode: one scenario run with every actor a coroutine on this thread, and every
 * service call a scheduling point where the scheduler picks which actor moves next. The
 * same scenario code as on real threads; the decisions and the seed make the schedule, so
 * a run repeats exactly. Control messages, callbacks and the finish run without choices.
 * It is not the free-running coordinator (coordinator.ts) and starts no thread. Beside it:
 * controlled_types (options, result), controlled_hosts (each actor's host), controlled_turns,
 * controlled_chains (callbacks), controlled_failures; the control messages are phases.ts's.
 */
import { VNE_Closed } from '../../shared/constants.js';
import { freeCount } from '../../shared/frames.js';
import type { Kernel } from '../../shared/kernel.js';
import { pooledKernel } from '../../shared/kernel_pool.js';
import { type Delivery, driveAsync, PhaseDriver } from '../../shared/phases.js';
import { stepSeed } from '../../shared/prng.js';
import type { DeviceContext, VmCore } from '../../shared/services/index.js';
import {
  type DeviceActor,
  type DeviceDefinition,
  makeActor,
  type ScenarioDefinition,
  type VmActor,
  type VmDefinition,
} from '../../shared/scenario/scenario.js';
import {
  checkFailure,
  dataFailure,
  errorFailure,
  type FailurePhase,
} from './controlled_failures.js';
import { ControlledChains } from './controlled_chains.js';
import { ActorHosts, type VirtualClock } from './controlled_hosts.js';
import { Turns } from './controlled_turns.js';
import {
  type Actor,
  type ControlledFailure,
  type ControlledOptions,
  type ControlledResult,
  TraceHash,
} from './controlled_types.js';
import { Footprint, R } from './footprint.js';
import { ExplorePruned, type Scheduler } from './schedulers/scheduler.js';

export type {
  ControlledFailure,
  ControlledOptions,
  ControlledResult,
  ControlledView,
  FailureKind,
  StepObserver,
} from './controlled_types.js';

/** Service calls in a row allowed outside scheduling points before a run is called hung. */
const UNSCHEDULED_CALLS_MAX = 200_000;
/** What a safe point that makes no scheduling choice returns. */
const NO_WAIT: Promise<void> = Promise.resolve();
/** Decisions allowed after stepsMax for the actors to finish the steps they are in. */
const TAIL_STEPS_MAX = 5_000;

export class ControlledRun {
  readonly kernel: Kernel;
  private readonly actors: Actor[] = [];
  private readonly decisions: number[] = [];
  private readonly hash = new TraceHash();
  private passthrough = true;
  private stopping = false;
  private readonly turns = new Turns();
  private failure: ControlledFailure | undefined;
  private step = 0;
  private readonly clock: VirtualClock = { now: 0 };
  private unscheduledCalls = 0;
  private readonly releaseKernel: () => void;
  /** The devices and the control messages they get (no scheduling choices). */
  private readonly phases: PhaseDriver<Actor>;
  private readonly hosts: ActorHosts;
  private readonly chains: ControlledChains;
  /** The step's footprint, for explore. */
  private readonly footprint = new Footprint();

  constructor(
    private readonly scenario: ScenarioDefinition,
    private readonly o: ControlledOptions,
    private readonly scheduler: Scheduler,
  ) {
    const pooled = pooledKernel(scenario.machine ?? {});
    this.kernel = pooled.kernel;
    this.releaseKernel = pooled.release;
    this.phases = new PhaseDriver(this.kernel);
    this.hosts = new ActorHosts(
      o,
      this.actors,
      this.footprint,
      this.clock,
      (index, service, args) => this.safePoint(index, service, args),
    );
    this.chains = new ControlledChains(
      this.kernel,
      this.actors,
      (actor) => this.phases.isDropped(actor),
      this.clock,
      o.trace,
    );
  }

  /**
   * The safe point before each service call: a pending interrupt is delivered, then the
   * actor parks until the scheduler picks it. Not an async function: the park promise is
   * returned as it is, one promise a decision and no wrapper.
   */
  private safePoint(index: number, service?: string, args?: readonly unknown[]): Promise<void> {
    const actor = this.actors[index]!;
    actor.pendingService = service;
    actor.pendingArgs = args;
    if (actor.ctx.reenterCount === 0 && actor.pendingIrq > 0 && actor.program.interrupt)
      return this.interruptThenPark(actor);
    return this.park(actor);
  }

  private async interruptThenPark(actor: Actor): Promise<void> {
    actor.pendingIrq -= 1;
    this.footprint.all = true;
    const handler = actor.program.interrupt!.bind(actor.program);
    const from = this.clock.now;
    await actor.ctx.atInterrupt(async () => handler(0));
    this.o.trace?.slice(actor.index + 1, 'interrupt', from, Math.max(this.clock.now - from, 1));
    await this.park(actor);
  }

  /** Parks `actor` until the scheduler picks it; at once where no choice is made. */
  private park(actor: Actor): Promise<void> {
    if (this.passthrough || actor.ctx.reenterCount > 0) {
      // Calls without a scheduling point (control, callbacks, finish, interrupt handlers)
      // are bounded: a loop there would spin in microtasks where no timer can stop it.
      this.unscheduledCalls += 1;
      if (this.unscheduledCalls > UNSCHEDULED_CALLS_MAX) {
        const calls = `${UNSCHEDULED_CALLS_MAX} service calls`;
        return Promise.reject(new Error(`${actor.name}: ${calls} without a scheduling point`));
      }
      return NO_WAIT;
    }
    this.unscheduledCalls = 0;
    return new Promise<void>((resume) => {
      actor.parked = resume;
      this.turns.end();
    });
  }

  /** Adds the actor of a device or VM whose context is made; its program is created now. */
  private addActor(
    def: DeviceDefinition | VmDefinition,
    ctx: DeviceContext | VmCore,
    seed: number,
  ): Actor {
    const isDevice = def.kind === 'device';
    const extras = { seed, shared: this.kernel.layout.scenarioWords, options: def.options ?? {} };
    const host = this.hosts.host(this.actors.length, !isDevice);
    const api = makeActor<DeviceActor & VmActor>(this.kernel, ctx, host, extras);
    const actor: Actor = {
      name: def.name,
      ctx,
      program: def.create(api),
      isDevice,
      parked: undefined,
      done: false,
      pendingIrq: 0,
      index: this.actors.length,
      api,
      seed,
      stepsStarted: 0,
    };
    this.actors.push(actor);
    return actor;
  }

  private addDevice(index: number): void {
    const def = this.scenario.devices[index]!;
    const ctx = this.kernel.device(def.name, { initOrder: def.initOrder });
    const actor = this.addActor(def, ctx, this.actorSeed(index));
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
      if (f !== undefined)
        trace.instant(0, `${f.kind}: ${f.message}`, this.clock.now + 1, {}, true);
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
      this.addActor(def, this.kernel.vm(handle, def.name), this.actorSeed(500 + index));
      handles.push(handle);
    }
    return handles;
  }

  /**
   * Runs the queued Request 0 / Request 1 chains, without scheduling choices; undefined when
   * none is queued (most steps: the caller then does not wait a microtask for nothing).
   */
  private runChains(request0Only = false): Promise<void> | undefined {
    return this.chains.pending(request0Only) ? this.runQueuedChains(request0Only) : undefined;
  }

  private async runQueuedChains(request0Only: boolean): Promise<void> {
    const was = this.passthrough;
    this.passthrough = true;
    await this.chains.run(request0Only);
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
          const turns = this.turns.started;
          await actor.program.step!();
          // A step that reached no scheduling point (it only looked at shared words and
          // returned) yields here: one decision, so that it cannot spin the others out.
          if (this.turns.started === turns && !this.stopping) await this.safePoint(actor.index);
        }
      };
      loop()
        .catch((error: unknown) => this.fail(error, actor))
        .finally(() => {
          actor.done = true;
          this.turns.end();
        });
    }
    return runners;
  }

  /** After the turn of the actor that was let go: false (a failure) when it hung. */
  private turnEnded(actor: Actor, settled: boolean): boolean {
    this.turns.settled();
    if (!settled) {
      const message = `${actor.name} neither reached a service call nor finished`;
      this.failure ??= { kind: 'hung', message, step: this.step, actor: actor.name };
    }
    return settled;
  }

  private async runPhase(): Promise<void> {
    this.passthrough = false;
    const watchdog = this.turns.watchdog();
    try {
      await this.controlledSteps();
    } finally {
      clearInterval(watchdog);
    }
  }

  private async controlledSteps(): Promise<void> {
    if (this.o.observer !== undefined) {
      this.footprint.reset();
      this.chains.ran = false;
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
        this.o.pauseAt.onPause(this.hosts.view(this.step, this.kernel));
        throw new ExplorePruned('paused');
      }
      runnable.length = 0;
      for (const a of runners) if (a.parked !== undefined && !a.done) runnable.push(a.index);
      if (runnable.length === 0) break;
      this.maybeInterrupt();
      const pick = this.scheduler.next(runnable, this.step, this.lastMidStep);
      if (this.o.trace !== undefined) {
        const last = this.decisions[this.decisions.length - 1];
        this.hosts.markDecision(this.step, pick, runnable, last, this.lastMidStep);
      }
      this.decisions.push(pick);
      const actor = this.actors[pick]!;
      const resume = actor.parked!;
      actor.parked = undefined;
      this.turns.started += 1;
      const stepsBefore = actor.stepsStarted;
      resume();
      // Until the actor parks again or finishes (Turns); awaited here, not in a helper:
      // one promise a decision fewer.
      if (!this.turnEnded(actor, await this.turns.next())) break;
      this.lastMidStep = actor.stepsStarted === stepsBefore && !actor.done;
      this.afterStep(actor);
      const chains = this.runChains();
      if (chains !== undefined) await chains;
      if (this.o.observer !== undefined) this.observe(pick);
    }
    this.stopping = true;
    this.passthrough = true; // finish, VM teardown and exit make no scheduling choices
  }

  /** The shared words before the step, for explore's footprint. */
  private sharedBefore: Int32Array | undefined;

  /** Tells the observer the step's footprint (shared words compared with before the step). */
  private observe(actor: number): void {
    const words = this.kernel.layout.scenarioWords;
    const before = (this.sharedBefore ??= new Int32Array(words.length));
    const fp = this.footprint;
    if (this.chains.ran) fp.all = true;
    this.chains.ran = false;
    for (let i = 0; i < words.length; i++) {
      if (words[i] === before[i]) continue;
      fp.writes.push(R.shared);
      before.set(words);
      break;
    }
    this.o.observer!.onStep(actor, fp, this.kernel);
    fp.reset();
  }

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
    this.clock.now += 5;
    const free = freeCount(this.kernel.layout);
    this.o.trace?.counter('free pages', this.clock.now, free);
    this.hash.add(this.actors.indexOf(actor));
    this.hash.add(actor.ctx.callTotal);
    this.hash.add(free);
    if (this.hosts.violations[0] !== undefined) {
      this.failure ??= dataFailure(this.hosts.violations, this.step, this.phase());
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
    const { violations } = this.hosts;
    this.failure ??= checkFailure(this.kernel, options, violations, this.step, this.phase());
  }

  /** The phase a failure found now happened in, when not the run phase. */
  private phase(): FailurePhase {
    if (this.finishing) return { phase: 'finish' };
    return this.step > this.o.stepsMax ? { phase: 'wind-down' } : {};
  }

  private fail(error: unknown, actor?: Actor): void {
    this.failure ??= errorFailure(error, this.step, actor?.name, this.phase());
  }

  private finishing = false;
  private pruned = false;
}

/** One controlled run of `scenario` under `scheduler`. */
export function runControlled(
  scenario: ScenarioDefinition,
  options: ControlledOptions,
  scheduler: Scheduler,
): Promise<ControlledResult> {
  return new ControlledRun(scenario, options, scheduler).run();
}
