/**
 * What a scenario is: devices and VMs, each a small program that awaits every service call.
 * The same program runs free on a worker thread (the runtime) and, later, under a
 * controlled scheduler, because every service call is an `await`: a safe point where
 * interrupts are delivered and a scheduler may switch actors.
 * Here: the types, define* helpers, and the async actor that wraps a kernel context.
 */
import type { MachineOptions } from '../config.js';
import type { ControlMessageName } from '../constants.js';
import type { Refusal } from '../context.js';
import type { AccessWho, Kernel } from '../kernel.js';
import { Prng } from '../prng.js';
import { takeTicket } from '../protocol.js';
import {
  type DeviceContext,
  type DeviceInVm,
  type Registers,
  type RegistersIn,
  serviceTable,
  type VmCore,
  type VmmServices,
} from '../services/index.js';

export type Awaitable<T> = T | Promise<T>;

/** Every service, awaited: `await dev._MapFreePhysReg(page, 4, PageFixed)`. */
export type AsyncServices = {
  [K in keyof VmmServices]: (
    ...args: Parameters<VmmServices[K]>
  ) => Promise<ReturnType<VmmServices[K]>>;
};

/** A free-physical-region callback in a scenario: resolves to true to set carry. */
export type ScenarioCallback = (request: number, pageCount: number) => Awaitable<boolean | void>;

/** What every actor's program has: its name, randomness, shared words, reports. */
export interface ActorBase {
  readonly name: string;
  /** Why the last failed service failed ({ service, reason }). */
  readonly lastError: Refusal | undefined;
  /** The actor's own seeded generator: all its randomness comes from here. */
  readonly random: Prng;
  /** Words every actor of the run can read and write (agreements between actors). */
  readonly shared: Int32Array;
  /** Options the scenario gave this device or VM. */
  readonly options: Record<string, unknown>;
  /** Linear memory as this actor's code sees it (devices: ring 0; VMs: ring 3). */
  readLinear(address: number, length: number): Promise<Uint8Array>;
  writeLinear(address: number, bytes: Uint8Array): Promise<void>;
  /**
   * Reports a broken expectation (data that did not follow its page, …): a violation. `kind`
   * names it in reports (`[kind] message`; default `data`).
   */
  violation(message: string, details?: ViolationDetails): void;
}

/** What a scenario may say about a violation it reports. */
export interface ViolationDetails {
  page?: number;
  frame?: number;
  /** A short name for the kind of failure (letters, digits, '-'), shown as `[kind]`. */
  kind?: string;
}

/** A device working with a VM as the current VM: every service, ring-0 access in that VM. */
export type DeviceInVmActor = Omit<AsyncServices, '_SetFreePhysRegCalBk'> & {
  readonly vmHandle: number;
  readonly lastError: Refusal | undefined;
  readLinear(address: number, length: number): Promise<Uint8Array>;
  writeLinear(address: number, bytes: Uint8Array): Promise<void>;
};

/** A VxD: every VMM service, ring-0 memory, physical memory, interrupt time. */
export type DeviceActor = ActorBase &
  Omit<AsyncServices, '_SetFreePhysRegCalBk'> & {
    readonly systemVmHandle: number;
    _SetFreePhysRegCalBk(callback: ScenarioCallback, flags: number): Promise<number>;
    readPhysical(address: number, length: number): Uint8Array;
    writePhysical(address: number, bytes: Uint8Array): void;
    /** Runs `fn` at interrupt time (the reenter count raised). */
    atInterrupt<T>(fn: () => Promise<T>): Promise<T>;
    /**
     * The same device with the VM of `vmHandle` as its current VM (as when the VMM calls a
     * device while that VM runs): services that work on the current VM work on that one.
     */
    inVM(vmHandle: number): DeviceInVmActor;
  };

/**
 * VM code (ring 3, DESIGN.md §3): its handle, DPMI Int 31h, memory through its page tables
 * at ring 3. It calls no VMM service and cannot choose its ring.
 */
export type VmActor = ActorBase & {
  readonly handle: number;
  int31(regs: RegistersIn): Promise<Registers>;
};

export interface DeviceProgram {
  /** A control message; resolve to true to set carry. VM messages carry the VM handle. */
  control?(message: ControlMessageName, vmHandle: number, edx: number): Awaitable<boolean | void>;
  /** One unit of work while the system runs. */
  step?(): Awaitable<void>;
  /** A simulated hardware interrupt, at the next safe point, reenter count raised. */
  interrupt?(irq: number): Awaitable<void>;
  /** At the end of the run, before the checker: give back what the device holds. */
  finish?(): Awaitable<void>;
}

export interface VmProgram {
  step?(): Awaitable<void>;
  interrupt?(irq: number): Awaitable<void>;
  finish?(): Awaitable<void>;
}

export interface DeviceDefinition {
  kind: 'device';
  name: string;
  /** DDB_Init_Order: devices get control messages from the lowest to the highest. */
  initOrder: number;
  options?: Record<string, unknown>;
  create(device: DeviceActor): DeviceProgram;
}

export interface VmDefinition {
  kind: 'vm';
  name: string;
  options?: Record<string, unknown>;
  create(vm: VmActor): VmProgram;
}

export interface ScenarioDefinition {
  name: string;
  description?: string;
  machine?: Partial<MachineOptions>;
  devices: DeviceDefinition[];
  vms: VmDefinition[];
  /** How much work: service calls in all, and a wall-clock bound in seconds. */
  budget?: { calls?: number; seconds?: number };
  /** Simulated hardware interrupts: the coordinator raises one in each device that has an
   * interrupt handler every `everyMs` milliseconds. */
  interrupts?: { everyMs: number };
}

export function defineScenario(scenario: ScenarioDefinition): ScenarioDefinition {
  return scenario;
}
export function defineDevice(device: Omit<DeviceDefinition, 'kind'>): DeviceDefinition {
  return { kind: 'device', ...device };
}
export function defineVM(vm: Omit<VmDefinition, 'kind'>): VmDefinition {
  return { kind: 'vm', ...vm };
}

/** Where an actor's safe points lead: interrupts waiting, violations to record. */
export interface ActorHost {
  /** Called before every service call (named, with its arguments): delivers pending
   * interrupts; in controlled mode, the scheduling point. */
  safePoint(service?: string, args?: readonly unknown[]): Promise<void>;
  violation(actor: string, message: string, details?: ViolationDetails): void;
  /**
   * Called after every service call and every memory access (readLinear, writeLinear,
   * readPhysical, writePhysical) when given: the call, its arguments, its result.
   */
  onCall?(service: string, args: unknown[], result: unknown): void;
}

/**
 * Wraps a kernel context as an async actor: each service becomes an awaited call that first
 * passes a safe point. Shared by the device and VM workers and the controlled scheduler.
 * A VM actor gets Int 31h and ring-3 memory access only; a device every service.
 */
export function makeActor<T extends DeviceActor | VmActor>(
  kernel: Kernel,
  ctx: DeviceContext | VmCore,
  host: ActorHost,
  extras: { seed: number; shared: Int32Array; options: Record<string, unknown> },
): T {
  const actor: Record<string, unknown> = {
    name: ctx.name,
    random: new Prng(extras.seed),
    shared: extras.shared,
    options: extras.options,
    violation: (message: string, details?: ViolationDetails) =>
      host.violation(ctx.name, message, details),
  };
  // readLinear and writeLinear are scheduling points like the services: a recorded run
  // (run --record) keeps their order too.
  const record = (): void => {
    if (ctx.recording !== undefined && ctx.reenterCount === 0)
      ctx.recording.push(takeTicket(kernel.layout));
  };
  Object.defineProperty(actor, 'lastError', { get: () => ctx.lastError, enumerable: true });
  if (ctx.kind === 'vm' && 'handle' in ctx) {
    const vm = ctx;
    Object.assign(actor, accessOf(kernel, host, vm, record), {
      handle: vm.handle,
      int31: async (regs: RegistersIn) => {
        await host.safePoint('int31', [regs]);
        const result = vm.int31(regs);
        host.onCall?.('int31', [regs], result);
        return result;
      },
    });
    return Object.freeze(actor) as T;
  }
  const dev = ctx as DeviceContext;
  Object.assign(actor, accessOf(kernel, host, null, record), servicesOf(dev, host), {
    readPhysical: (address: number, length: number) => {
      const bytes = kernel.readPhysical(address, length);
      host.onCall?.('readPhysical', [address, length], bytes);
      return bytes;
    },
    writePhysical: (address: number, bytes: Uint8Array) => {
      kernel.writePhysical(address, bytes);
      host.onCall?.('writePhysical', [address, bytes], undefined);
    },
    atInterrupt: <R>(fn: () => Promise<R>) => dev.atInterrupt(fn),
    systemVmHandle: kernel.systemVmHandle,
    inVM: (vmHandle: number) => {
      const view = dev.inVM(vmHandle);
      const inVm: Record<string, unknown> = { vmHandle: view.vmHandle };
      Object.defineProperty(inVm, 'lastError', { get: () => dev.lastError, enumerable: true });
      return Object.assign(inVm, accessOf(kernel, host, view, record), servicesOf(view, host));
    },
  });
  return actor as T;
}

/**
 * readLinear and writeLinear through the page tables, each after a safe point (a scheduling
 * point in controlled mode), recorded (run --record) and reported to the host's onCall.
 */
function accessOf(kernel: Kernel, host: ActorHost, who: AccessWho, record: () => void) {
  return {
    readLinear: async (address: number, length: number) => {
      await host.safePoint('readLinear', [address, length]);
      record();
      const bytes = kernel.readLinear(who, address, length);
      host.onCall?.('readLinear', [address, length], bytes);
      return bytes;
    },
    writeLinear: async (address: number, bytes: Uint8Array) => {
      await host.safePoint('writeLinear', [address, bytes]);
      record();
      kernel.writeLinear(who, address, bytes);
      host.onCall?.('writeLinear', [address, bytes], undefined);
    },
  };
}

/** Every VMM service of a device (or of its view of a VM), awaited after a safe point. */
function servicesOf(target: DeviceContext | DeviceInVm, host: ActorHost): Record<string, unknown> {
  const services = target as unknown as Record<string, (...args: unknown[]) => unknown>;
  const out: Record<string, unknown> = {};
  for (const { name } of serviceTable) {
    out[name] = async (...args: unknown[]) => {
      await host.safePoint(name, args);
      const result = services[name]!(...args);
      host.onCall?.(name, args, result);
      return result;
    };
  }
  return out;
}
