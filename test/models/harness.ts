/**
 * Runs built-in models in-process, without workers: one kernel, each actor wrapped by
 * makeActor, and a seeded cooperative scheduler. Every safe point (each service call) is a
 * scheduling point: the actor's coroutine waits there until the scheduler picks it, one
 * coroutine at a time. A pending interrupt is delivered at the actor's next safe point and
 * runs to completion (the interrupted code waits, as on the one CPU of the real VMM).
 * Free-physical-region callbacks run through the kernel, which calls them synchronously
 * in-process: an async callback becomes one more coroutine here (fire-and-forget).
 */
import { createKernel, type Kernel, type MachineOptions, type Violation } from '../../src/index.js';
import { type Delivery, driveAsync, PhaseDriver } from '../../src/shared/phases.js';
import { Prng } from '../../src/shared/prng.js';
import {
  type ActorHost,
  type DeviceActor,
  type DeviceDefinition,
  type DeviceProgram,
  makeActor,
  type VmActor,
  type VmDefinition,
  type VmProgram,
} from '../../src/shared/scenario/scenario.js';
import type { DeviceContext, VmCore } from '../../src/shared/services/index.js';

export interface ActorViolation {
  actor: string;
  message: string;
  page?: number;
  frame?: number;
}

export interface Member {
  name: string;
  initOrder: number;
  ctx: DeviceContext | VmCore;
  actor: DeviceActor | VmActor;
  program: DeviceProgram & VmProgram & { counters?: Record<string, number> };
  safePoint: () => Promise<void>;
  pendingIrq: number;
  delivering: boolean;
}

export interface RunOptions {
  /** Chance in percent, at each scheduling decision, of raising an interrupt in a device. */
  irqPercent?: number;
  /** Run kernel.check() every this many decisions (0: never). */
  checkEvery?: number;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class Harness {
  readonly kernel: Kernel;
  /** The devices and the control messages they get, in DDK order (phases.ts). */
  private readonly phases: PhaseDriver<Member>;
  readonly devices: Member[] = [];
  readonly vms: Member[] = [];
  readonly violations: ActorViolation[] = [];
  /** What kernel.check() found at the scheduler's checkpoints. */
  readonly checkFailures: Violation[] = [];
  /** Called when `member` reaches a safe point, before it waits for its turn. */
  onSafePoint: ((member: Member) => Promise<void>) | undefined;
  private readonly random: Prng;
  private readonly waiters: (() => void)[] = [];
  private options: RunOptions = {};
  private decisions = 0;

  constructor(
    machine: Partial<MachineOptions>,
    private readonly seed: number,
  ) {
    this.kernel = createKernel(machine);
    this.phases = new PhaseDriver(this.kernel);
    this.random = new Prng(seed);
  }

  get members(): Member[] {
    return [...this.devices, ...this.vms];
  }

  member(name: string): Member {
    const found = this.members.find((m) => m.name === name);
    if (found === undefined) throw new Error(`harness: no actor ${name}`);
    return found;
  }

  addDevice(definition: DeviceDefinition): Member {
    const ctx = this.kernel.device(definition.name, { initOrder: definition.initOrder });
    const member = this.wrap(ctx, definition, definition.initOrder, (actor) =>
      definition.create(actor as DeviceActor),
    );
    this.devices.push(member);
    this.phases.add(member, ctx.actor, definition.initOrder);
    return member;
  }

  /** The init messages in DDK order, then Sys_VM_Init. */
  async boot(): Promise<void> {
    await driveAsync(this.phases.initialize(), this.deliver);
    this.kernel.freeListGrew();
    await driveAsync(this.phases.systemVmInit(), this.deliver);
  }

  /** A VM: its address space, Create_VM, VM_Critical_Init and VM_Init, then its program. */
  async addVm(definition: VmDefinition): Promise<Member> {
    const handle = this.kernel.newVmSpace();
    const refusal = await driveAsync(this.phases.createVm(handle), this.deliver);
    if (refusal !== undefined) throw new Error(`addVm: ${refusal.message} set carry`);
    const ctx = this.kernel.vm(handle);
    const member = this.wrap(ctx, definition, 0, (actor) => definition.create(actor as VmActor));
    this.vms.push(member);
    return member;
  }

  /** `steps` steps of every actor, all at once under the scheduler. */
  async run(steps: number, options: RunOptions = {}, only?: Member[]): Promise<void> {
    const members = (only ?? this.members).filter(
      (m) => !this.phases.isDropped(m) && m.program.step,
    );
    await this.drive(
      members.map(async (m) => {
        for (let i = 0; i < steps; i++) {
          await m.safePoint();
          await m.program.step!();
        }
      }),
      options,
    );
  }

  /** Every program's finish, then whatever callbacks are still under way. */
  async finish(): Promise<void> {
    await this.drive(
      this.members.filter((m) => !this.phases.isDropped(m)).map((m) => m.program.finish?.()),
    );
    await this.drain();
  }

  /** The exit messages, as the coordinator sends them at the end of a run. */
  async shutdown(): Promise<void> {
    await driveAsync(this.phases.exit(), this.deliver);
  }

  /** Runs `member`'s interrupt handler now, to completion, with its reenter count raised. */
  async interruptNow(member: Member): Promise<void> {
    const handler = member.program.interrupt;
    if (handler === undefined || member.delivering) return;
    member.delivering = true;
    try {
      await member.ctx.atInterrupt(async () => handler.call(member.program, 0));
    } finally {
      member.delivering = false;
    }
  }

  /** Runs tasks under the scheduler until they are all done. */
  async drive(tasks: unknown[], options: RunOptions = {}): Promise<void> {
    this.options = options;
    let settled = false;
    let failure: { error: unknown } | undefined;
    void Promise.all(tasks).then(
      () => (settled = true),
      (error: unknown) => (failure = { error }),
    );
    for (;;) {
      await tick(); // every coroutine has now run until it waits or ends
      if (failure !== undefined) throw failure.error;
      if (settled) return;
      if (this.waiters.length === 0) throw new Error('harness: tasks pending, nothing can run');
      this.decide();
    }
  }

  /** Lets every coroutine still waiting (callbacks) run to its end. */
  async drain(): Promise<void> {
    this.options = {};
    await tick();
    while (this.waiters.length > 0) {
      this.decide();
      await tick();
    }
  }

  private decide(): void {
    this.decisions += 1;
    const { irqPercent = 0, checkEvery = 0 } = this.options;
    if (checkEvery > 0 && this.decisions % checkEvery === 0)
      this.checkFailures.push(...this.kernel.check());
    const targets = this.devices.filter((m) => !this.phases.isDropped(m) && m.program.interrupt);
    if (targets.length > 0 && this.random.int(100) < irqPercent)
      this.random.pick(targets).pendingIrq += 1;
    const [resume] = this.waiters.splice(this.random.int(this.waiters.length), 1);
    resume!();
  }

  private wrap(
    ctx: DeviceContext | VmCore,
    definition: DeviceDefinition | VmDefinition,
    initOrder: number,
    create: (actor: DeviceActor | VmActor) => DeviceProgram | VmProgram,
  ): Member {
    const index = this.members.length;
    let member: Member | undefined;
    const host: ActorHost = {
      safePoint: async () => {
        const m = member!;
        if (m.delivering) return; // inside an interrupt handler: it runs to completion
        await this.onSafePoint?.(m);
        await new Promise<void>((resume) => this.waiters.push(resume));
        while (m.pendingIrq > 0 && !m.delivering && m.program.interrupt) {
          m.pendingIrq -= 1;
          await this.interruptNow(m);
        }
      },
      violation: (actor, message, details) => this.violations.push({ actor, message, ...details }),
    };
    const actor = makeActor<DeviceActor | VmActor>(this.kernel, ctx, host, {
      seed: this.seed * 1000 + index,
      shared: this.kernel.layout.scenarioWords,
      options: definition.options ?? {},
    });
    member = {
      name: definition.name,
      initOrder,
      ctx,
      actor,
      program: create(actor),
      safePoint: host.safePoint,
      pendingIrq: 0,
      delivering: false,
    };
    return member;
  }

  /** A device's control procedure, run under the scheduler like any task; its carry. */
  private readonly deliver = async (d: Delivery<Member>): Promise<boolean> => {
    const { device: m, message, vmHandle, edx } = d;
    let carry = false;
    const task = Promise.resolve(m.program.control?.(message, vmHandle, edx)).then((c) => {
      carry = c === true;
    });
    await this.drive([task]);
    return carry;
  };
}
