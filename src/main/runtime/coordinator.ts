/**
 * The coordinator: runs one scenario on real threads. It creates the machine, starts one
 * worker per device and per VM, sends the control messages in DDK order (devices in
 * ascending init order, each message finished by every device before the next, the "…2"
 * twins in descending order), creates and destroys the VMs, runs the workload while it
 * raises interrupts and routes free-physical-region requests, and checks the invariants.
 * The main thread never blocks: it polls words of the buffer and awaits its workers.
 * Beside it: report.ts (what a run takes and reports), callback_router.ts, watchdog.ts and
 * diagnosis.ts; the control messages in DDK order are phases.ts's.
 */
import { VNE_Closed } from '../../shared/constants.js';
import { actorLoad } from '../../shared/actor_record.js';
import { createKernel, type Kernel } from '../../shared/kernel.js';
import { type Delivery, driveAsync, PhaseDriver } from '../../shared/phases.js';
import {
  type ActorFailure,
  type ActorReport,
  armFaultCountdown,
  CONTROL_TIMEOUT_MS,
  setStop,
  wakePressureServer,
} from '../../shared/protocol.js';
import { CallbackRouter } from './callback_router.js';
import { Diagnosis } from './diagnosis.js';
import { buildReport, type PhaseMark, type RunOptions, type RunReport } from './report.js';
import { watchRun } from './watchdog.js';
import { ActorFailureError, ActorHandle } from './worker_host.js';
import { AC } from '../../shared/layout.js';

export type { OwnerDeadLock, PhaseMark, RunOptions, RunReport } from './report.js';

export class Coordinator {
  readonly kernel: Kernel;
  private readonly devices: ActorHandle[] = [];
  private readonly vms: ActorHandle[] = [];
  /** One worker per scenario VM, spawned at the start; `vms` holds those whose VM was created. */
  private readonly vmWorkers: ActorHandle[] = [];
  private readonly phases: PhaseMark[] = [];
  private readonly start = performance.now();
  private readonly finished = new Set<ActorHandle>();
  private readonly refusedVms: string[] = [];

  private interrupted = false;
  /** The run-phase calls of the runners, for the settling after a failure. */
  private runs: Promise<unknown>[] = [];

  private readonly diagnosis: Diagnosis;
  /** The devices (once started) and the control messages they get. */
  private readonly driver: PhaseDriver<ActorHandle>;
  /** Free_Phys_Reg requests from the workers, and the chains they run. */
  private readonly router: CallbackRouter;

  constructor(private readonly o: RunOptions) {
    this.kernel = createKernel({ ...o.scenario.machine, ...o.machine });
    this.diagnosis = new Diagnosis(
      this.kernel.layout,
      () => [...this.devices, ...this.vms],
      o.hangMs,
      o.fault,
    );
    this.driver = new PhaseDriver(this.kernel, (message) => this.mark(message));
    this.router = new CallbackRouter(
      this.kernel,
      () => this.devices,
      () => [...this.devices, ...this.vms],
      (device) => this.driver.isDropped(device),
    );
    o.signal?.addEventListener('abort', () => {
      this.interrupted = true;
      setStop(this.kernel.layout, true); // every actor ends its run loop
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
    this.router.noteFreeListGrew();
    return driveAsync(this.driver.systemVmInit(), this.deliver);
  }

  private async createVms(): Promise<void> {
    for (let index = 0; index < this.o.scenario.vms.length; index++) {
      const name = this.o.scenario.vms[index]!.name;
      const handle = this.kernel.tryNewVmSpace();
      if (typeof handle === 'string') {
        // The VMM cannot make the VM (no memory for its V86 pages): it is not created.
        this.refusedVms.push(`${name} (not created: ${handle})`);
        continue;
      }
      const refusal = await driveAsync(this.driver.createVm(handle), this.deliver);
      if (refusal !== undefined) {
        this.refusedVms.push(`${name} (${refusal.message})`);
        continue;
      }
      const vm = this.vmWorkers[index]!;
      this.vms.push(vm);
      await this.startActor(vm, handle);
    }
    this.mark('VMs created');
  }

  // ---- the run phase

  /**
   * After a failure: the diagnosis declares the failed actor crashed (its locks owner-dead,
   * so their waiters stop at once); the others are asked to stop and given a second to reach
   * the end of their step, so that the checker sees only what the failure itself left.
   */
  private async settleAfterFailure(failure: ActorFailure): Promise<void> {
    if (!this.diagnosis.failed(failure)) return; // settled already (in the run phase)
    setStop(this.kernel.layout, true);
    const bound = new Promise((resolve) => setTimeout(resolve, 1_000));
    await Promise.race([Promise.allSettled(this.runs), bound]);
  }

  private async runPhase(): Promise<ActorReport[]> {
    this.mark('run');
    const runners = [...this.driver.ordered(), ...this.vms].filter((a) => a.hasStep);
    if (this.o.fault !== undefined)
      armFaultCountdown(this.kernel.layout, this.o.fault.acquisitions);
    const each = Math.max(1, Math.ceil(this.o.calls / Math.max(runners.length, 1)));
    const done = { value: false };
    const watcher = watchRun(
      {
        kernel: this.kernel,
        o: this.o,
        traceOrigin: this.traceOrigin,
        router: this.router,
        diagnosis: this.diagnosis,
        devices: () => this.devices,
        actors: () => [...this.devices, ...this.vms],
        isDropped: (device) => this.driver.isDropped(device),
        finished: this.finished,
      },
      runners,
      done,
    );
    const pressure = this.router.servePressure(done);
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
      setStop(this.kernel.layout, true);
      wakePressureServer(this.kernel.layout); // not at the end of its 50 ms sleep
      await pressure;
      await this.router.chain.catch(() => undefined);
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
    let idle = false;
    let stopped: Promise<unknown> | undefined;
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
      idle = true;
    } catch (error) {
      if (!(error instanceof ActorFailureError)) throw error;
      failure = error.failure;
      await this.settleAfterFailure(failure);
      // What ran before the failure still counts: the calls each actor made are in its words.
      actorReports = this.actorsFromBuffer();
      if (runStart !== undefined) runMs = performance.now() - runStart;
    } finally {
      stopped = Promise.all([...this.devices, ...this.vmWorkers].map((a) => a.stop()));
      // An actor that failed, or may still run, is stopped before the checker reads the
      // buffer. After System_Exit every actor is idle: they end while the report is made.
      if (!idle) await stopped;
    }
    this.traceEnd(failure);
    const report = this.report(actorReports, runMs, systemExit, failure);
    await stopped;
    return report;
  }

  /** The run's report: the checker's verdict, the calls, the phases and the callbacks. */
  private report(
    actors: ActorReport[],
    runMs: number,
    systemExit: boolean,
    failure: ActorFailure | undefined,
  ): RunReport {
    return buildReport({
      scenario: this.o.scenario.name,
      seed: this.o.seed,
      kernel: this.kernel,
      phases: this.phases,
      actors,
      runMs,
      systemExit,
      failure,
      names: new Map([
        ...this.devices.map((a) => [a.actor, `device ${a.name}`] as const),
        ...this.vms.map((a) => [a.actor, `VM ${a.name}`] as const),
      ]),
      droppedDevices: this.devices.filter((d) => this.driver.isDropped(d)).map((d) => d.name),
      refusedVms: this.refusedVms,
      callbacks: {
        request0: this.router.request0,
        request1: this.router.request1,
        calls: this.router.callbackCalls,
      },
      interrupted: this.interrupted,
      recorded: this.recorded,
      diagnosis: (violations) => this.diagnosis.report(violations),
    });
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
      calls: a.actor < 0 ? 0 : actorLoad(this.kernel.layout, a.actor, AC.calls),
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
}
