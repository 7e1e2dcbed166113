/**
 * The coordinator: runs one scenario on real threads. It creates the machine, starts one
 * worker per device and per VM, sends the control messages in DDK order (devices in
 * ascending init order, each message finished by every device before the next, the "…2"
 * twins in descending order), creates and destroys the VMs, runs the workload while it
 * raises interrupts and routes free-physical-region requests, and checks the invariants.
 * The main thread never blocks: it polls words of the buffer and awaits its workers.
 */
import type { Violation } from '../../shared/checker.js';
import type { MachineOptions } from '../../shared/config.js';
import {
  FREE_PHYS_REG_AVAILABLE,
  FREE_PHYS_REG_NEEDED,
  VNE_Closed,
} from '../../shared/constants.js';
import { createKernel, type Kernel } from '../../shared/kernel.js';
import { AC, ACTOR_WORDS, H } from '../../shared/layout.js';
import { futexWaitAsync, futexWake, lockStats } from '../../shared/lock.js';
import {
  type ActorFailure,
  type ActorReport,
  type ActorViolation,
  CONTROL_TIMEOUT_MS,
  type FaultPlan,
  type ScenarioSource,
} from '../../shared/protocol.js';
import type { ScenarioDefinition } from '../../shared/scenario/scenario.js';
import { ActorFailureError, ActorHandle } from './worker_host.js';
import { callbackChain, type Delivery, driveAsync, PhaseDriver } from '../../shared/phases.js';
import type { Trace } from '../../shared/trace.js';
import { Diagnosis } from './diagnosis.js';
import type { WaitForGraph } from './wait_for.js';

export interface RunOptions {
  source: ScenarioSource;
  scenario: ScenarioDefinition;
  seed: number;
  machine: Partial<MachineOptions>;
  /** Service calls in all during the run phase. */
  calls: number;
  /** Wall-clock bound on the run phase. */
  seconds: number;
  interruptEveryMs: number;
  /** An actor that makes no service call for this long while it should is hung. */
  hangMs: number;
  onProgress?: (calls: number, total: number) => void;
  /** Collects a Chrome trace of the run: every service call of every actor. */
  trace?: Trace;
  /** Keep the order in which run-phase calls took effect (report.recorded). */
  record?: boolean;
  /** Aborting ends the run phase at once; finish, teardown and the checker still run. */
  signal?: AbortSignal;
  /** A fault to inject at the plan's n-th lock acquisition of the run phase, machine-wide. */
  fault?: FaultPlan;
}

/** A lock whose holder died holding it, and where that holder was. */
export interface OwnerDeadLock {
  lock: string;
  lockId: number;
  actor: string;
  service: string;
  phase: string;
  page?: string;
}

export interface PhaseMark {
  message: string;
  atMs: number;
}

export interface RunReport {
  scenario: string;
  seed: number;
  machine: MachineOptions;
  phases: PhaseMark[];
  actors: ActorReport[];
  calls: number;
  runMs: number;
  opsPerSecond: number;
  byService: Record<string, number>;
  failures: Record<string, number>;
  interruptsTaken: number;
  callbacks: { request0: number; request1: number; calls: number };
  locks: ReturnType<typeof lockStats>;
  /** actorName: "device NAME" or "VM NAME". */
  violations: (Violation & { actorName?: string })[];
  actorViolations: ActorViolation[];
  droppedDevices: string[];
  refusedVms: string[];
  systemExit: boolean;
  failure?: ActorFailure;
  /** The first 256 words the scenario's actors share (their agreements, for debugging). */
  sharedWords: number[];
  /** With record: the actor (controlled-mode index) of each run-phase call, in ticket order. */
  recorded?: number[];
  /** The run phase was cut short by the signal (SIGINT or SIGTERM on the command line). */
  interrupted: boolean;
  /** Who held and who waited for which lock when the run failed or deadlocked. */
  waitFor?: WaitForGraph;
  /**
   * Locks marked owner-dead after their holder died, and whether the checker found the state
   * they protect consistent (no violation besides the held locks themselves).
   */
  ownerDead?: { locks: OwnerDeadLock[]; consistent: boolean; detectedMs: number };
  /** The injected fault, in whom, and whether it fired. */
  fault?: FaultPlan & { actor: string; fired: boolean };
}

export class Coordinator {
  readonly kernel: Kernel;
  private readonly devices: ActorHandle[] = [];
  private readonly vms: ActorHandle[] = [];
  /** One worker per scenario VM, spawned at the start; `vms` holds those whose VM was created. */
  private readonly vmWorkers: ActorHandle[] = [];
  private readonly phases: PhaseMark[] = [];
  private readonly start = performance.now();
  private request0 = 0;
  private request1 = 0;
  private callbackCalls = 0;
  private chain: Promise<void> = Promise.resolve();
  private lastPending = 0;
  private readonly serving = new Set<number>();
  private readonly finished = new Set<ActorHandle>();
  private readonly report: Partial<RunReport> = {};

  private interrupted = false;
  /** The run-phase calls of the runners, for the settling after a failure. */
  private runs: Promise<unknown>[] = [];

  private readonly diagnosis: Diagnosis;
  /** The devices (once started) and the control messages they get. */
  private readonly driver: PhaseDriver<ActorHandle>;

  constructor(private readonly o: RunOptions) {
    this.kernel = createKernel({ ...o.scenario.machine, ...o.machine });
    this.diagnosis = new Diagnosis(
      this.kernel.layout,
      () => [...this.devices, ...this.vms],
      o.hangMs,
      o.fault,
    );
    this.driver = new PhaseDriver(this.kernel, (message) => this.mark(message));
    o.signal?.addEventListener('abort', () => {
      this.interrupted = true;
      Atomics.store(this.kernel.layout.header, H.stop, 1); // every actor ends its run loop
    });
  }

  private mark(message: string): void {
    this.phases.push({ message, atMs: Math.round(performance.now() - this.start) });
  }

  private readonly traceOrigin = performance.timeOrigin + performance.now();

  private spawn(
    role: { kind: 'device'; index: number } | { kind: 'vm'; index: number; handle: number },
    label: string,
  ): ActorHandle {
    const seed = (this.o.seed * 1_000_003 + (role.kind === 'vm' ? 500 : 0) + role.index) >>> 0;
    const tid = (role.kind === 'vm' ? 100 : 1) + role.index;
    const traced = this.o.trace === undefined ? {} : { trace: { origin: this.traceOrigin, tid } };
    this.o.trace?.track(tid, label);
    const startup = {
      sab: this.kernel.sab,
      scenario: this.o.source,
      role,
      seed,
      pressureWaitMs: 1_000,
      ...traced,
      ...(this.o.record === true ? { record: true } : {}),
      ...(this.o.fault === undefined ? {} : { fault: this.o.fault }),
    };
    return new ActorHandle(this.kernel.layout, startup, label);
  }

  private async startActor(handle: ActorHandle, vmHandle?: number): Promise<void> {
    if (vmHandle !== undefined) handle.vmHandle = vmHandle;
    const started = await handle.call('start', CONTROL_TIMEOUT_MS * 2, (api) =>
      api.start(vmHandle),
    );
    handle.actor = started.actor;
    handle.name = started.name;
    handle.initOrder = started.initOrder;
    handle.hasInterrupt = started.hasInterrupt;
    handle.hasStep = started.hasStep;
  }

  /** A device's control procedure, in its worker; its carry. */
  private readonly deliver = (d: Delivery<ActorHandle>): Promise<boolean> =>
    d.device.call(d.message, CONTROL_TIMEOUT_MS, (api) =>
      api.control(d.message, d.vmHandle, d.edx),
    );

  private async initialize(): Promise<boolean> {
    await driveAsync(this.driver.initialize(), this.deliver);
    this.noteFreeListGrew();
    return driveAsync(this.driver.systemVmInit(), this.deliver);
  }

  private async createVms(): Promise<void> {
    for (let index = 0; index < this.o.scenario.vms.length; index++) {
      const name = this.o.scenario.vms[index]!.name;
      const handle = this.kernel.tryNewVmSpace();
      if (typeof handle === 'string') {
        // The VMM cannot make the VM (no memory for its V86 pages): it is not created.
        (this.report.refusedVms ??= []).push(`${name} (not created: ${handle})`);
        continue;
      }
      const refusal = await driveAsync(this.driver.createVm(handle), this.deliver);
      if (refusal !== undefined) {
        (this.report.refusedVms ??= []).push(`${name} (${refusal.message})`);
        continue;
      }
      const vm = this.vmWorkers[index]!;
      this.vms.push(vm);
      await this.startActor(vm, handle);
    }
    this.mark('VMs created');
  }

  // ---- the run phase

  private noteFreeListGrew(): void {
    Atomics.add(this.kernel.layout.header, H.callbackPending, 1);
  }

  /** Runs the callback chain (phases.ts) in the owners' workers; dropped devices have none. */
  private async runChain(request: number, count: number): Promise<void> {
    const live = this.kernel.callbackOwners().filter((o) => {
      const device = this.devices.find((d) => d.actor === o.actor);
      return device !== undefined && !this.driver.isDropped(device);
    });
    await driveAsync(callbackChain(this.kernel.layout, live), (owner) => {
      const device = this.devices.find((d) => d.actor === owner.actor)!;
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
  private readonly waiting: { request: number; count: () => number; after?: () => void }[] = [];
  private request0Waiting = false;
  private draining = false;

  private enqueue(item: { request: number; count: () => number; after?: () => void }): void {
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

  private chainFailure: ActorFailureError | undefined;

  /** One poll of the buffer: Request 0 notices, Request 1 waiters. */
  private poll(): void {
    const l = this.kernel.layout;
    const pending = Atomics.load(l.header, H.callbackPending);
    if (pending !== this.lastPending && !this.request0Waiting) {
      this.lastPending = pending;
      this.request0 += 1;
      this.request0Waiting = true;
      this.enqueue({
        request: FREE_PHYS_REG_AVAILABLE,
        count: () => Atomics.load(l.header, H.freeCount),
      });
    }
    this.pollPressure();
  }

  /** Queues a Request 1 chain for each actor that posted a wait not yet served. */
  private pollPressure(): void {
    const l = this.kernel.layout;
    for (const actor of [...this.devices, ...this.vms]) {
      if (actor.actor < 0 || this.serving.has(actor.actor)) continue;
      const base = actor.actor * ACTOR_WORDS;
      const wanted = Atomics.load(l.actors, base + AC.pressure);
      if (wanted === 0) continue;
      this.serving.add(actor.actor);
      this.request1 += 1;
      this.enqueue({
        request: FREE_PHYS_REG_NEEDED,
        count: () => wanted,
        after: () => {
          this.serving.delete(actor.actor);
          // The waiter sleeps on pressureSeq: bump it, then wake it.
          Atomics.add(l.actors, base + AC.pressureSeq, 1);
          futexWake(l.actors, base + AC.pressureSeq);
        },
      });
    }
  }

  private raiseInterrupts(): void {
    for (const device of this.devices) {
      if (this.driver.isDropped(device) || !device.hasInterrupt) continue;
      Atomics.add(this.kernel.layout.actors, device.actor * ACTOR_WORDS + AC.pendingIrq, 1);
    }
  }

  /** Free pages, and lock waits and contended acquisitions so far, as trace counters. */
  private traceCounters(now: number): void {
    const trace = this.o.trace;
    if (trace === undefined) return;
    const ts = (performance.timeOrigin + now - this.traceOrigin) * 1000;
    trace.counter('free pages', ts, Atomics.load(this.kernel.layout.header, H.freeCount));
    let waits = 0;
    let contended = 0;
    for (const lock of lockStats(this.kernel.layout)) {
      waits += lock.waits;
      contended += lock.contended;
    }
    trace.counter('lock waits (futex)', ts, waits);
    trace.counter('contended acquisitions', ts, contended);
  }

  private callsSoFar(): number {
    let calls = 0;
    for (const actor of [...this.devices, ...this.vms]) {
      if (actor.actor >= 0)
        calls += this.kernel.layout.actors[actor.actor * ACTOR_WORDS + AC.calls]!;
    }
    return calls;
  }

  /**
   * Watches the run: progress, hangs, deadlocks, the time bound. Rejects on a deadlock (the
   * same cycle of lock waits in two snapshots 50 ms apart, none of its locks taken between)
   * or a hung actor (blaming the holder at the end of its chain of lock waits).
   */
  private watch(runners: ActorHandle[], done: { value: boolean }): Promise<never> {
    return new Promise<never>((_, reject) => {
      const seen = new Map<ActorHandle, { calls: number; at: number }>();
      let lastIrq = performance.now();
      let lastGraph = performance.now();
      let cycleKey: string | undefined;
      const startedAt = performance.now();
      const timer = setInterval(() => {
        if (done.value) return clearInterval(timer);
        this.poll();
        const now = performance.now();
        if (now - lastIrq >= this.o.interruptEveryMs) {
          this.raiseInterrupts();
          lastIrq = now;
        }
        if (now - startedAt > this.o.seconds * 1000)
          Atomics.store(this.kernel.layout.header, H.stop, 1);
        this.o.onProgress?.(this.callsSoFar(), this.o.calls);
        this.traceCounters(now);
        let failure = this.chainFailure;
        if (failure === undefined && now - lastGraph >= 50) {
          lastGraph = now;
          const key = this.diagnosis.deadlockKey();
          if (key !== undefined && key === cycleKey) failure = this.diagnosis.deadlockFailure();
          cycleKey = key;
        }
        for (const actor of runners) {
          if (failure !== undefined) break;
          const calls = this.kernel.layout.actors[actor.actor * ACTOR_WORDS + AC.calls]!;
          const before = seen.get(actor);
          if (before === undefined || before.calls !== calls) seen.set(actor, { calls, at: now });
          else if (now - before.at > this.o.hangMs && !this.finished.has(actor)) {
            const stale = runners.filter((a) => now - (seen.get(a)?.at ?? now) > 10);
            failure = this.diagnosis.hangFailure(actor, stale);
          }
        }
        if (failure === undefined) return;
        clearInterval(timer);
        reject(failure);
      }, 2);
    });
  }

  /**
   * After a failure: the diagnosis declares the failed actor crashed (its locks owner-dead,
   * so their waiters stop at once); the others are asked to stop and given a second to reach
   * the end of their step, so that the checker sees only what the failure itself left.
   */
  private async settleAfterFailure(failure: ActorFailure): Promise<void> {
    if (!this.diagnosis.failed(failure)) return; // settled already (in the run phase)
    Atomics.store(this.kernel.layout.header, H.stop, 1);
    const bound = new Promise((resolve) => setTimeout(resolve, 1_000));
    await Promise.race([Promise.allSettled(this.runs), bound]);
  }

  /**
   * Serves Request 1 waits the moment a worker posts one (it bumps H.pressureRequests and
   * wakes this loop), not at the next 2 ms poll: a VM short of memory waits for its chain,
   * so that latency is its own. Atomics.waitAsync never blocks the main thread.
   */
  private async servePressure(done: { value: boolean }): Promise<void> {
    const header = this.kernel.layout.header;
    let seen = Atomics.load(header, H.pressureRequests);
    while (!done.value) {
      await futexWaitAsync(header, H.pressureRequests, seen, 50);
      seen = Atomics.load(header, H.pressureRequests);
      if (!done.value) this.pollPressure();
    }
  }

  private async runPhase(): Promise<ActorReport[]> {
    this.mark('run');
    const runners = [...this.driver.ordered(), ...this.vms].filter((a) => a.hasStep);
    if (this.o.fault !== undefined)
      Atomics.store(this.kernel.layout.header, H.faultCountdown, this.o.fault.acquisitions);
    const each = Math.max(1, Math.ceil(this.o.calls / Math.max(runners.length, 1)));
    const done = { value: false };
    const watcher = this.watch(runners, done);
    const pressure = this.servePressure(done);
    try {
      const runs = runners.map(async (actor) => {
        const report = await actor.call('run', 0, (api) => api.run(each));
        this.finished.add(actor);
        return report;
      });
      this.runs = runs;
      return await Promise.race([Promise.all(runs), watcher]);
    } catch (error) {
      // Settled here, before the wait for the callback chain below: a callback may be
      // waiting for the lock the dead actor holds, and only the owner-dead mark ends that.
      if (error instanceof ActorFailureError) await this.settleAfterFailure(error.failure);
      throw error;
    } finally {
      done.value = true;
      Atomics.store(this.kernel.layout.header, H.stop, 1);
      await pressure;
      await this.chain.catch(() => undefined);
    }
  }

  private recorded: number[] | undefined;

  /** Run-phase calls in ticket order, as controlled-mode actor indexes (devices, then VMs). */
  private order(reports: ActorReport[]): number[] | undefined {
    if (this.o.record !== true) return undefined;
    const all = [...this.devices, ...this.vms];
    const byTicket: [number, number][] = [];
    for (const r of reports) {
      const index = all.findIndex((a) => a.actor === r.actor);
      for (const ticket of r.tickets ?? []) byTicket.push([ticket, index]);
    }
    return byTicket.sort((a, b) => a[0] - b[0]).map(([, index]) => index);
  }

  // ---- the whole run

  async run(): Promise<RunReport> {
    let failure: ActorFailure | undefined;
    let actorReports: ActorReport[] = [];
    let runMs = 0;
    let runStart: number | undefined;
    let systemExit = false;
    try {
      this.o.scenario.devices.forEach((d, index) =>
        this.devices.push(this.spawn({ kind: 'device', index }, d.name)),
      );
      // The VMs' workers start loading now, beside the devices', and wait for their VMs.
      this.o.scenario.vms.forEach((v, index) =>
        this.vmWorkers.push(this.spawn({ kind: 'vm', index, handle: 0 }, v.name)),
      );
      await Promise.all(this.devices.map((d) => this.startActor(d)));
      for (const d of this.devices) this.driver.add(d, d.actor, d.initOrder);
      systemExit = !(await this.initialize());
      if (!systemExit) {
        await this.createVms();
        runStart = performance.now();
        this.recorded = this.order(await this.runPhase());
        runMs = performance.now() - runStart;
        actorReports = await this.finishActors();
        for (const vm of this.vms)
          await driveAsync(this.driver.endVm(vm.vmHandle, true, VNE_Closed), this.deliver);
      }
      await driveAsync(this.driver.exit(), this.deliver);
    } catch (error) {
      if (!(error instanceof ActorFailureError)) throw error;
      failure = error.failure;
      await this.settleAfterFailure(failure);
      // What ran before the failure still counts: the calls each actor made are in its words.
      actorReports = this.actorsFromBuffer();
      if (runStart !== undefined) runMs = performance.now() - runStart;
    } finally {
      await Promise.all([...this.devices, ...this.vmWorkers].map((a) => a.stop()));
    }
    return this.buildReport(actorReports, runMs, systemExit, failure);
  }

  /**
   * Each device's and VM's calls as its actor words in the buffer count them, for a run that
   * ended in a failure (the workers' own reports, per service, are gone with the run).
   */
  private actorsFromBuffer(): ActorReport[] {
    return [...this.devices, ...this.vms].map((a) => ({
      name: a.name,
      actor: a.actor,
      // -1: its worker failed before it had a slot (no call made).
      calls:
        a.actor < 0 ? 0 : Atomics.load(this.kernel.layout.actors, a.actor * ACTOR_WORDS + AC.calls),
      byService: {},
      failures: {},
      interruptsTaken: 0,
      callbacksRun: 0,
      steps: 0,
      violations: [],
    }));
  }

  private async finishActors(): Promise<ActorReport[]> {
    this.mark('finish');
    const reports: ActorReport[] = [];
    for (const actor of [...this.driver.ordered(), ...this.vms]) {
      const { trace, ...report } = await actor.call('finish', CONTROL_TIMEOUT_MS, (api) =>
        api.finish(),
      );
      // one at a time: a worker's trace holds up to 200,000 events, past what a spread of
      // arguments may hold (the call stack overflows)
      if (trace !== undefined) for (const event of trace) this.o.trace?.events.push(event);
      reports.push(report);
    }
    return reports;
  }

  /** Violations and the failure as instant events at the end of the trace. */
  private traceEnd(failure?: ActorFailure): void {
    const trace = this.o.trace;
    if (trace === undefined) return;
    const at = (performance.timeOrigin + performance.now() - this.traceOrigin) * 1000;
    for (const v of this.kernel.check({ final: failure === undefined })) {
      trace.instant(0, `[${v.kind}] ${v.message}`, at, {}, true);
    }
    if (failure !== undefined)
      trace.instant(0, `${failure.actor} ${failure.kind}: ${failure.message}`, at, {}, true);
  }

  private buildReport(
    actors: ActorReport[],
    runMs: number,
    systemExit: boolean,
    failure?: ActorFailure,
  ): RunReport {
    const names = new Map([
      ...this.devices.map((a) => [a.actor, `device ${a.name}`] as const),
      ...this.vms.map((a) => [a.actor, `VM ${a.name}`] as const),
    ]);
    const sum = (key: 'byService' | 'failures'): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const a of actors)
        for (const [k, v] of Object.entries(a[key])) out[k] = (out[k] ?? 0) + v;
      return out;
    };
    const calls = actors.reduce((n, a) => n + a.calls, 0);
    this.traceEnd(failure);
    const violations =
      failure === undefined ? this.kernel.check({ final: true }) : this.kernel.check();
    return {
      scenario: this.o.scenario.name,
      seed: this.o.seed,
      machine: this.kernel.layout.options,
      phases: this.phases,
      actors,
      calls,
      runMs,
      opsPerSecond: runMs > 0 ? calls / (runMs / 1000) : 0,
      byService: sum('byService'),
      failures: sum('failures'),
      interruptsTaken: actors.reduce((n, a) => n + a.interruptsTaken, 0),
      callbacks: { request0: this.request0, request1: this.request1, calls: this.callbackCalls },
      locks: lockStats(this.kernel.layout),
      violations: violations.map((v) =>
        v.actor === undefined ? v : { ...v, actorName: names.get(v.actor) ?? `actor ${v.actor}` },
      ),
      actorViolations: actors.flatMap((a) => a.violations),
      droppedDevices: this.devices.filter((d) => this.driver.isDropped(d)).map((d) => d.name),
      refusedVms: this.report.refusedVms ?? [],
      sharedWords: Array.from(this.kernel.layout.scenarioWords.subarray(0, 256)),
      interrupted: this.interrupted,
      ...(this.recorded === undefined ? {} : { recorded: this.recorded }),
      ...this.diagnosis.report(violations),
      systemExit,
      ...(failure === undefined ? {} : { failure }),
    };
  }
}
