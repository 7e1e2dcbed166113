/**
 * The phase driver: the one place that knows who gets which control message when (DDK order,
 * devices in ascending init order, the "…2" twins in descending order), what carry means
 * (a device that sets it during initialization is dropped; on Create_VM, VM_Critical_Init or
 * VM_Init it fails the create), and the Free_Phys_Reg callback chain with its rotation. It
 * owns the phase word (H.phase), the init-complete word (H.initCompleteDone) and the rotation
 * word (H.calbkRotation).
 *
 * It does not deliver anything: the in-process kernel, the coordinator and controlled mode
 * each give it a `deliver(device, message, vmHandle, edx) → carry`, synchronous or not. The
 * driver's sequences are generators that yield each delivery and get its carry back; `drive`
 * and `driveAsync` run them.
 */
import { assert, fail } from './assert.js';
import { ControlMessage, type ControlMessageName } from './constants.js';
import {
  SYSTEM_EXIT_PAIRS,
  SYSTEM_INIT_MESSAGES,
  SYSTEM_SEQUENCE,
  TWIN_OF,
  VM_CREATE_MESSAGES,
  vmEndMessages,
} from './control_sequence.js';
import { H, type Layout } from './layout.js';
import { publishPhase, systemPhase } from './protocol.js';

/** Whether every device has processed Init_Complete (the instance snapshot is taken). */
export const initCompleteDone = (l: Layout): boolean =>
  Atomics.load(l.header, H.initCompleteDone) !== 0;

/** Marks initialization complete: callbacks may run from now on. Once, in Init_Complete. */
export function markInitCompleteDone(l: Layout): void {
  if (!(systemPhase(l) === ControlMessage.Init_Complete))
    fail('completeInit: not in Init_Complete');
  if (initCompleteDone(l)) fail('completeInit: initialization completed twice');
  Atomics.store(l.header, H.initCompleteDone, 1);
}

/** The index in SYSTEM_SEQUENCE of Sys_VM_Init: VMs live only in that phase. */
export const SYS_VM_INIT_INDEX = SYSTEM_SEQUENCE.indexOf('Sys_VM_Init');

/**
 * Makes `message` the machine's phase (H.phase) after checking that it may follow the
 * message at `from` (an index in SYSTEM_SEQUENCE, -1 before any): the init messages one
 * after the other, the exit messages in order after Sys_VM_Init (or with no Sys_VM_Init, from
 * System_Exit on, after a failed init). Returns the index of `message`.
 */
export function enterPhase(l: Layout, from: number, message: ControlMessageName): number {
  const index = SYSTEM_SEQUENCE.indexOf(message);
  if (!(index >= 0)) fail(`systemControl: ${message} is not a system-wide message`);
  if (!(index > from)) fail(`systemControl: ${message} out of DDK order`);
  if (index > SYS_VM_INIT_INDEX) {
    const systemExit = SYSTEM_SEQUENCE.indexOf('System_Exit');
    if (!(from >= SYS_VM_INIT_INDEX || index >= systemExit))
      fail(`systemControl: ${message} before Sys_VM_Init`);
  } else assert(index === from + 1, `systemControl: ${message} skips a message`);
  publishPhase(l, ControlMessage[message]);
  if (!(systemPhase(l) === ControlMessage[message]))
    fail('enterPhase: the phase word did not take');
  return index;
}

/** One control message to one device; the driver's sequences yield these. */
export interface Delivery<D> {
  device: D;
  message: ControlMessageName;
  vmHandle: number;
  edx: number;
}

/** A sequence that yields what it needs answered (a carry flag) and returns R. */
export type Steps<Y, R> = Generator<Y, R, boolean>;

/** Runs `steps`, answering each yielded step with `answer` (synchronous callers). */
export function drive<Y, R>(steps: Steps<Y, R>, answer: (step: Y) => boolean): R {
  let next = steps.next();
  while (next.done !== true) next = steps.next(answer(next.value));
  return next.value;
}

/** Runs `steps`, awaiting each answer (the coordinator's workers, controlled mode's coroutines). */
export async function driveAsync<Y, R>(
  steps: Steps<Y, R>,
  answer: (step: Y) => Promise<boolean>,
): Promise<R> {
  let next = steps.next();
  while (next.done !== true) next = steps.next(await answer(next.value));
  return next.value;
}

/** Whose Free_Phys_Reg callback runs first: the rotation word, advanced once per chain. */
function chainStart(l: Layout, owners: number): number {
  return Atomics.add(l.header, H.calbkRotation, 1) % owners;
}

/**
 * A Free_Phys_Reg callback chain over `owners` (registration order): it starts one further
 * along each time (H.calbkRotation) and stops at the first callback that sets carry.
 * Returns whether one did.
 */
export function* callbackChain<C>(l: Layout, owners: readonly C[]): Steps<C, boolean> {
  const n = owners.length;
  if (n === 0) return false;
  if (!initCompleteDone(l)) fail('callbackChain: callbacks run only after Init_Complete');
  const start = chainStart(l, n);
  if (!(start >= 0 && start < n)) fail('callbackChain: rotation out of the chain', start);
  for (let i = 0; i < n; i++) if (yield owners[(start + i) % n]!) return true;
  return false;
}

/** What the driver needs of the machine (the Kernel has it all). */
export interface PhaseMachine {
  readonly systemVmHandle: number;
  /** Checks the DDK order and that no lock is held; makes `message` the phase. */
  beginPhase(message: ControlMessageName): void;
  /** Every device has processed Init_Complete. */
  completeInit(): void;
  markInitCompleteReceived(actor: number): void;
  dropDevice(actor: number): void;
  /** Frees a VM's memory and address space, after Destroy_VM2. */
  releaseVmSpace(handle: number): void;
}

interface Entry<D> {
  device: D;
  actor: number;
  initOrder: number;
  dropped: boolean;
}

/** A VM create that a device refused: the message it set carry on, and who set it. */
export interface VmRefusal<D> {
  message: ControlMessageName;
  carried: D[];
}

/**
 * The devices of one machine and the control sequences they get. `onPhase` is told each
 * system-wide message as it becomes the phase (the coordinator marks its timeline).
 */
export class PhaseDriver<D> {
  private readonly entries: Entry<D>[] = [];

  constructor(
    private readonly machine: PhaseMachine,
    private readonly onPhase?: (message: ControlMessageName) => void,
  ) {}

  /** Adds a device (in load order): its actor slot and DDB_Init_Order. */
  add(device: D, actor: number, initOrder: number): void {
    if (!(actor >= 0)) fail('PhaseDriver.add: a device without an actor slot', actor);
    if (this.entries.some((e) => e.device === device)) fail('PhaseDriver.add: a device twice');
    this.entries.push({ device, actor, initOrder, dropped: false });
  }

  /** Whether `device` set carry during initialization (it gets no more messages). */
  isDropped(device: D): boolean {
    return this.entries.find((e) => e.device === device)?.dropped === true;
  }

  /** Devices not dropped, in ascending init order (load order breaks ties). */
  ordered(descending = false): D[] {
    return this.inOrder(descending).map((e) => e.device);
  }

  /** The live entries, ascending init order (a stable sort: load order breaks ties). */
  private inOrder(descending: boolean): Entry<D>[] {
    const sorted = this.entries.filter((e) => !e.dropped).sort((a, b) => a.initOrder - b.initOrder);
    return descending ? sorted.reverse() : sorted;
  }

  /**
   * One system-wide message: it becomes the phase, goes to every device, then its twin (if
   * it has one) in descending order. Carry on an init message drops the device; after
   * Init_Complete initialization is complete. Returns the devices that set carry.
   */
  *system(message: ControlMessageName): Steps<Delivery<D>, D[]> {
    this.machine.beginPhase(message);
    this.onPhase?.(message);
    const vmHandle = this.machine.systemVmHandle;
    const carried = yield* this.broadcast(message, vmHandle);
    const twin = TWIN_OF[message];
    if (twin !== undefined) carried.push(...(yield* this.broadcast(twin, vmHandle, 0, true)));
    if (message === 'Init_Complete') this.machine.completeInit();
    return carried;
  }

  /** Sys_Critical_Init, Device_Init and Init_Complete. */
  *initialize(): Steps<Delivery<D>, void> {
    for (const message of SYSTEM_INIT_MESSAGES) yield* this.system(message);
  }

  /** Sys_VM_Init; false when a device set carry (Windows exits). */
  *systemVmInit(): Steps<Delivery<D>, boolean> {
    return (yield* this.system('Sys_VM_Init')).length === 0;
  }

  /**
   * Create_VM, VM_Critical_Init, VM_Init for a VM whose space is made. On carry the VM never
   * ran: VM_Not_Executeable (with the message's VNE_*Fail) and Destroy_VM follow, and its
   * space is released. Returns the refusal, or undefined when the VM is created.
   */
  *createVm(vmHandle: number): Steps<Delivery<D>, VmRefusal<D> | undefined> {
    for (const { message, vneOnCarry } of VM_CREATE_MESSAGES) {
      const carried = yield* this.broadcast(message, vmHandle);
      if (carried.length === 0) continue;
      yield* this.endVm(vmHandle, false, vneOnCarry);
      return { message, carried };
    }
    return undefined;
  }

  /**
   * The end of a VM (VM_Terminate only for one that ran, VM_Not_Executeable with `vneFlags`
   * in EDX, Destroy_VM, each with its twin), then its space is released.
   */
  *endVm(vmHandle: number, normal: boolean, vneFlags: number): Steps<Delivery<D>, void> {
    for (const [message, twin] of vmEndMessages(normal)) {
      const edx = message === 'VM_Not_Executeable' ? vneFlags : 0;
      yield* this.broadcast(message, vmHandle, edx);
      yield* this.broadcast(twin, vmHandle, edx, true);
    }
    this.machine.releaseVmSpace(vmHandle);
  }

  /** Sys_VM_Terminate, System_Exit, Sys_Critical_Exit, each with its twin. */
  *exit(): Steps<Delivery<D>, void> {
    for (const [message] of SYSTEM_EXIT_PAIRS) yield* this.system(message);
  }

  /** One message to every live device, one after the other; the devices that set carry. */
  private *broadcast(
    message: ControlMessageName,
    vmHandle: number,
    edx = 0,
    descending = false,
  ): Steps<Delivery<D>, D[]> {
    const carried: D[] = [];
    const init = SYSTEM_INIT_MESSAGES.includes(message);
    for (const entry of this.inOrder(descending)) {
      if (message === 'Init_Complete') this.machine.markInitCompleteReceived(entry.actor);
      if (!(yield { device: entry.device, message, vmHandle, edx })) continue;
      carried.push(entry.device);
      if (!init) continue;
      entry.dropped = true; // carry during init: the device is not loaded
      this.machine.dropDevice(entry.actor);
    }
    return carried;
  }
}
