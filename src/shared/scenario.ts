/**
 * What a scenario is: devices and VMs, each a small program that awaits every service call.
 * The same program runs free on a worker thread (the runtime) and, later, under a
 * controlled scheduler, because every service call is an `await`: a safe point where
 * interrupts are delivered and a scheduler may switch actors.
 * Here: the types, define* helpers, and the async actor that wraps a kernel context.
 */
import type { MachineOptions } from './config.js';
import type { ControlMessageName } from './constants.js';
import type { Context, Refusal } from './context.js';
import type { Kernel } from './kernel.js';
import { H } from './layout.js';
import { Prng } from './prng.js';
import type {
  DeviceContext,
  Registers,
  RegistersIn,
  VmContext,
  VmmServices,
} from './services/index.js';

export type Awaitable<T> = T | Promise<T>;

/** Every service, awaited: `await dev._MapFreePhysReg(page, 4, PageFixed)`. */
export type AsyncServices = {
  [K in keyof VmmServices]: (
    ...args: Parameters<VmmServices[K]>
  ) => Promise<ReturnType<VmmServices[K]>>;
};

/** A free-physical-region callback in a scenario: resolves to true to set carry. */
export type ScenarioCallback = (request: number, pageCount: number) => Awaitable<boolean | void>;

export interface ActorBase {
  readonly name: string;
  /** Why the last failed service failed ({ service, reason }). */
  readonly lastError: Refusal | undefined;
  /** The actor's own seeded generator: all its randomness comes from here. */
  readonly random: Prng;
  /** Words every actor of the run can read and write (device-to-device agreements). */
  readonly shared: Int32Array;
  /** Options the scenario gave this device or VM. */
  readonly options: Record<string, unknown>;
  /** Linear memory as this actor's code sees it (devices: ring 0; VMs: ring 3). */
  readLinear(address: number, length: number): Promise<Uint8Array>;
  writeLinear(address: number, bytes: Uint8Array): Promise<void>;
  readPhysical(address: number, length: number): Uint8Array;
  writePhysical(address: number, bytes: Uint8Array): void;
  /**
   * Reports a broken expectation (data that did not follow its page, …): a violation. `kind`
   * names it in reports (`[kind] message`; default `data`).
   */
  violation(message: string, details?: ViolationDetails): void;
  /** Runs `fn` at interrupt time (the reenter count raised). */
  atInterrupt<T>(fn: () => Promise<T>): Promise<T>;
  Get_VMM_Reenter_Count(): Promise<number>;
}

/** What a scenario may say about a violation it reports. */
export interface ViolationDetails {
  page?: number;
  frame?: number;
  /** A short name for the kind of failure (letters, digits, '-'), shown as `[kind]`. */
  kind?: string;
}

export type DeviceActor = ActorBase &
  Omit<AsyncServices, '_SetFreePhysRegCalBk'> & {
    readonly systemVmHandle: number;
    _SetFreePhysRegCalBk(callback: ScenarioCallback, flags: number): Promise<number>;
  };

export type VmActor = ActorBase &
  AsyncServices & {
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
 */
export function makeActor<T extends DeviceActor | VmActor>(
  kernel: Kernel,
  ctx: DeviceContext | VmContext,
  host: ActorHost,
  extras: { seed: number; shared: Int32Array; options: Record<string, unknown> },
): T {
  const ring: 0 | 3 = ctx.kind === 'vm' ? 3 : 0;
  // readLinear and writeLinear are scheduling points like the services: a recorded run
  // (run --record) keeps their order too.
  const record = (): void => {
    if (ctx.recording !== undefined && ctx.reenterCount === 0)
      ctx.recording.push(Atomics.add(kernel.layout.header, H.ticket, 1));
  };
  const vm = ctx.kind === 'vm' ? (ctx as VmContext) : null;
  const actor: Record<string, unknown> = {
    name: ctx.name,
    random: new Prng(extras.seed),
    shared: extras.shared,
    options: extras.options,
    readLinear: async (address: number, length: number) => {
      await host.safePoint('readLinear', [address, length]);
      record();
      const bytes = kernel.readLinear(vm, address, length, { ring });
      host.onCall?.('readLinear', [address, length], bytes);
      return bytes;
    },
    writeLinear: async (address: number, bytes: Uint8Array) => {
      await host.safePoint('writeLinear', [address, bytes]);
      record();
      kernel.writeLinear(vm, address, bytes, { ring });
      host.onCall?.('writeLinear', [address, bytes], undefined);
    },
    readPhysical: (address: number, length: number) => {
      const bytes = kernel.readPhysical(address, length);
      host.onCall?.('readPhysical', [address, length], bytes);
      return bytes;
    },
    writePhysical: (address: number, bytes: Uint8Array) => {
      kernel.writePhysical(address, bytes);
      host.onCall?.('writePhysical', [address, bytes], undefined);
    },
    violation: (message: string, details?: ViolationDetails) =>
      host.violation(ctx.name, message, details),
    atInterrupt: <R>(fn: () => Promise<R>) => ctx.atInterrupt(fn),
    systemVmHandle: kernel.systemVmHandle,
  };
  Object.defineProperty(actor, 'lastError', { get: () => ctx.lastError, enumerable: true });
  if (vm !== null) actor['handle'] = vm.handle;
  const services = ctx as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of serviceNames(ctx)) {
    actor[name] = async (...args: unknown[]) => {
      await host.safePoint(name, args);
      const result = services[name]!(...args);
      host.onCall?.(name, args, result);
      return result;
    };
  }
  return actor as T;
}

const namesByPrototype = new Map<object, string[]>();

/** The service method names of a context's class (cached per class). */
function serviceNames(ctx: Context): string[] {
  const prototype = Object.getPrototypeOf(ctx) as object;
  const cached = namesByPrototype.get(prototype);
  if (cached !== undefined) return cached;
  const names: string[] = [];
  namesByPrototype.set(prototype, names);
  for (
    let proto = Object.getPrototypeOf(ctx);
    proto !== null;
    proto = Object.getPrototypeOf(proto)
  ) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      if (
        (key.startsWith('_') || key === 'Get_VMM_Reenter_Count' || key === 'int31') &&
        !names.includes(key)
      ) {
        names.push(key);
      }
    }
  }
  return names;
}
