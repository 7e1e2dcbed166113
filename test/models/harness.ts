/**
 * Runs built-in models in-process, without workers: one kernel, each actor wrapped by
 * makeActor, and a seeded cooperative scheduler. Every safe point (each service call) is a
 * scheduling point: the actor's coroutine waits there until the scheduler picks it, one
 * coroutine at a time. A pending interrupt is delivered at the actor's next safe point and
 * runs to completion (the interrupted code waits, as on the one CPU of the real VMM).
 * Free-physical-region callbacks run through the kernel, which calls them synchronously
 * in-process: an async callback becomes one more coroutine here (fire-and-forget).
 */
import {
  createKernel,
  type ControlMessageName,
  type Kernel,
  type MachineOptions,
  type Violation,
} from '../../src/index.js';
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
  dropped: boolean;
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
    return member;
  }

  /** The init messages in DDK order, then Sys_VM_Init. */
  async boot(): Promise<void> {
    for (const message of ['Sys_Critical_Init', 'Device_Init', 'Init_Complete'] as const) {
      this.kernel.beginPhase(message);
      for (const m of this.liveDevices()) {
        if (message === 'Init_Complete') this.kernel.markInitCompleteReceived(m.ctx.actor);
        if (await this.control(m, message, this.kernel.systemVmHandle)) {
          this.kernel.dropDevice(m.ctx.actor);
          m.dropped = true;
        }
      }
    }
    this.kernel.completeInit();
    this.kernel.freeListGrew();
    this.kernel.beginPhase('Sys_VM_Init');
    await this.broadcast('Sys_VM_Init', this.kernel.systemVmHandle);
  }

  /** A VM: its address space, Create_VM, VM_Critical_Init and VM_Init, then its program. */
  async addVm(definition: VmDefinition): Promise<Member> {
    const handle = this.kernel.newVmSpace();
    for (const message of ['Create_VM', 'VM_Critical_Init', 'VM_Init'] as const)
      await this.broadcast(message, handle);
    const ctx = this.kernel.vm(handle);
    const member = this.wrap(ctx, definition, 0, (actor) => definition.create(actor as VmActor));
    this.vms.push(member);
    return member;
  }

  /** `steps` steps of every actor, all at once under the scheduler. */
  async run(steps: number, options: RunOptions = {}, only?: Member[]): Promise<void> {
    const members = (only ?? this.members).filter((m) => !m.dropped && m.program.step);
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
    await this.drive(this.members.filter((m) => !m.dropped).map((m) => m.program.finish?.()));
    await this.drain();
  }

  /** The exit messages, as the coordinator sends them at the end of a run. */
  async shutdown(): Promise<void> {
    const twins = ['Sys_VM_Terminate2', 'System_Exit2', 'Sys_Critical_Exit2'] as const;
    const messages = ['Sys_VM_Terminate', 'System_Exit', 'Sys_Critical_Exit'] as const;
    for (let i = 0; i < messages.length; i++) {
      this.kernel.beginPhase(messages[i]!);
      await this.broadcast(messages[i]!, this.kernel.systemVmHandle);
      await this.broadcast(twins[i]!, this.kernel.systemVmHandle, true);
    }
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
    const targets = this.devices.filter((m) => !m.dropped && m.program.interrupt);
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
      dropped: false,
    };
    return member;
  }

  private liveDevices(descending = false): Member[] {
    const order = this.devices
      .filter((m) => !m.dropped)
      .sort(
        (a, b) => a.initOrder - b.initOrder || this.devices.indexOf(a) - this.devices.indexOf(b),
      );
    return descending ? order.reverse() : order;
  }

  private async control(
    m: Member,
    message: ControlMessageName,
    vmHandle: number,
  ): Promise<boolean> {
    let carry = false;
    const task = Promise.resolve(m.program.control?.(message, vmHandle, 0)).then((c) => {
      carry = c === true;
    });
    await this.drive([task]);
    return carry;
  }

  private async broadcast(message: ControlMessageName, vmHandle: number, descending = false) {
    for (const m of this.liveDevices(descending)) await this.control(m, message, vmHandle);
  }
}
