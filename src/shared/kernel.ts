/**
 * The kernel: one simulated machine on one SharedArrayBuffer, and the contexts (devices,
 * VMs) that call its services on this thread. createKernel boots a fresh machine;
 * attachKernel gives another thread (a worker) its own Kernel over the same buffer.
 * It sends control messages in DDK order for in-process use; the multi-threaded coordinator
 * is src/main, not here.
 */
import { fail } from './assert.js';
import { check, type CheckOptions, type Violation } from './checker.js';
import type { MachineOptions } from './config.js';
import {
  type ControlMessageName,
  FREE_PHYS_REG_AVAILABLE,
  FREE_PHYS_REG_NEEDED,
  VNE_Closed,
  SHARED_ARENA_FIRST_PAGE,
} from './constants.js';
import { Context, type FreePhysRegCallback, type KernelHooks } from './context.js';
import {
  AC,
  ACTOR_DEVICE,
  ACTOR_DROPPED,
  ACTOR_GOT_INIT_COMPLETE,
  ACTOR_HOST,
  ACTOR_VM,
  Layout,
} from './layout.js';
import { bootMachine, createVmSpace, teardownVmSpace, vmHandleOf, vmOfHandle } from './machine.js';
import { freeCount } from './frames.js';
import { actorLoad } from './actor_record.js';
import {
  actorFlags,
  claimActor,
  recordViolation,
  releaseActor,
  setActorFlag,
} from './kernel_actors.js';
import { vmLive } from './vm_record.js';
import { type CallbackDispatcher, CallbackRegistry } from './kernel_callbacks.js';
import {
  type Delivery,
  drive,
  enterPhase,
  initCompleteDone,
  markInitCompleteDone,
  PhaseDriver,
  SYS_VM_INIT_INDEX,
} from './phases.js';
import { systemPhase } from './protocol.js';
import { SYSTEM_VM } from './page_table.js';
import {
  type DeviceContext,
  makeDeviceContext,
  makeVmContext,
  type VmContext,
  type VmCore,
} from './services/index.js';
import { takeInstanceSnapshot } from './services/v86_data_area.js';
import { freeVmBlocks } from './services/page_free.js';
import { dropAliasesOf } from './services/global_alias.js';
import { accessOf, type AccessWho } from './kernel_access.js';
import {
  readLinear,
  writeLinear,
  readPhysical,
  writePhysical,
  type AccessOptions,
} from './memory_access.js';

export type { AccessWho };

/**
 * A device's control procedure: EBX is the VM handle; EDX carries the VNE_* flags with
 * VM_Not_Executeable (0 otherwise). Returning true sets carry.
 */
export type ControlHandler = (
  message: ControlMessageName,
  device: DeviceContext,
  vmHandle: number,
  edx: number,
) => boolean | void;

export interface DeviceOptions {
  initOrder?: number;
  /** Called for each control message; returning true sets carry (failure). */
  onControl?: ControlHandler;
}

interface DeviceEntry {
  ctx: DeviceContext;
  onControl: ControlHandler | undefined;
}

export type { CallbackDispatcher };

export interface ControlResult {
  message: ControlMessageName;
  /** Devices that set carry, in the order they were called. */
  carried: string[];
  /** Sys_VM_Init carry: Windows exits. */
  systemExit: boolean;
}

export class Kernel implements KernelHooks {
  readonly layout: Layout;
  private hostContext: Context | undefined;
  /** The in-process devices and the control messages they get. */
  private readonly phases = new PhaseDriver<DeviceEntry>(this);
  private readonly callbacks: CallbackRegistry;
  private readonly vmContexts = new Map<number, VmCore>();
  private dispatcher: CallbackDispatcher | undefined;
  private sequenceIndex = -1;

  /**
   * `hostActor`: the actor slot of a host this buffer already has (a restored snapshot);
   * without it the kernel claims a new one.
   */
  constructor(layout: Layout, boot: boolean, hostActor?: number | 'first-context') {
    this.layout = layout;
    this.callbacks = new CallbackRegistry(layout);
    // 'first-context' (a worker): no slot of its own; its device or VM does the host's work.
    if (hostActor !== 'first-context') {
      this.hostContext = new Context(
        layout,
        this,
        hostActor ?? claimActor(layout, ACTOR_HOST, SYSTEM_VM, 0),
        'device',
        'VMM',
        SYSTEM_VM,
      );
    }
    if (boot) bootMachine(layout, this.host.locker);
  }

  /** The context the kernel's own work (boot, VM spaces, linear access) runs as. */
  private get host(): Context {
    if (!(this.hostContext !== undefined)) fail('kernel: no context on this thread yet');
    return this.hostContext;
  }

  get sab(): SharedArrayBuffer {
    return this.layout.sab;
  }

  /** The current phase: the id of the last system control message, -1 before any. */
  get phase(): number {
    return systemPhase(this.layout);
  }

  get systemVmHandle(): number {
    return vmHandleOf(SYSTEM_VM);
  }

  /** A device context on this thread. Its current VM is the system VM. */
  device(name: string, options: DeviceOptions = {}): DeviceContext {
    const initOrder = options.initOrder ?? 0x80000000;
    if (!(Number.isInteger(initOrder) && initOrder >= 0 && initOrder <= 0xffffffff))
      fail('device: initOrder is a dword');
    const actor = claimActor(this.layout, ACTOR_DEVICE, SYSTEM_VM, initOrder | 0);
    const ctx = makeDeviceContext(this.layout, this, actor, name);
    this.hostContext ??= ctx;
    this.phases.add({ ctx, onControl: options.onControl }, actor, initOrder);
    if (!(actorLoad(this.layout, actor, AC.kind) === ACTOR_DEVICE))
      fail('device: slot not a device');
    if (!(ctx.actor === actor && ctx.vm === SYSTEM_VM))
      fail('device: context of another slot', actor);
    return ctx;
  }

  /**
   * Sends one system control message to every device (ascending init order; the "…2" twin
   * follows in descending order) and makes it the current phase.
   */
  systemControl(name: ControlMessageName): ControlResult {
    const carried = drive(this.phases.system(name), this.deliver).map((d) => d.ctx.name);
    if (name === 'Init_Complete') this.freeListGrew();
    return { message: name, carried, systemExit: name === 'Sys_VM_Init' && carried.length > 0 };
  }

  /**
   * Makes `name` the current phase after checking the DDK order and that no lock is held;
   * sends nothing (the runtime sends the messages to its workers itself).
   */
  beginPhase(name: ControlMessageName): void {
    this.assertNoLocksHeld(name);
    this.sequenceIndex = enterPhase(this.layout, this.sequenceIndex, name);
  }

  /** An in-process device's control procedure, called synchronously; its carry. */
  private readonly deliver = (d: Delivery<DeviceEntry>): boolean => {
    const { ctx, onControl } = d.device;
    const carry = onControl?.(d.message, ctx, d.vmHandle, d.edx);
    if ((carry as unknown) instanceof Promise)
      fail(`${d.message}: in-process control handlers are synchronous`);
    if (!(ctx.locker.heldCount() === 0)) fail(`${d.message}: ${ctx.name} returned holding a lock`);
    return carry === true;
  };

  /** Every device has processed Init_Complete: take the instance snapshot, allow callbacks. */
  completeInit(): void {
    takeInstanceSnapshot(this.host);
    markInitCompleteDone(this.layout);
  }

  /** Marks that a device received Init_Complete (the runtime, before it sends it). */
  markInitCompleteReceived(actor: number): void {
    this.assertDevice(actor, 'markInitCompleteReceived');
    setActorFlag(this.layout, actor, ACTOR_GOT_INIT_COMPLETE);
    if (!((actorFlags(this.layout, actor) & ACTOR_GOT_INIT_COMPLETE) !== 0))
      fail('markInitCompleteReceived: flag not set', actor);
  }

  /** Drops a device that set carry during initialization: no more messages or callbacks. */
  dropDevice(actor: number): void {
    this.assertDevice(actor, 'dropDevice');
    if (!(initCompleteDone(this.layout) === false))
      fail('dropDevice: initialization is over', actor);
    setActorFlag(this.layout, actor, ACTOR_DROPPED);
    if (!((actorFlags(this.layout, actor) & ACTOR_DROPPED) !== 0))
      fail('dropDevice: not set', actor);
  }

  /** A device's slot, claimed: what the phase driver's actor numbers must be. */
  private assertDevice(actor: number, where: string): void {
    if (!(actor >= 0 && actor < this.layout.options.actorMax)) fail(where, actor);
    if (!(actorLoad(this.layout, actor, AC.kind) === ACTOR_DEVICE)) fail(where, actor);
  }

  /** Makes a VM's address space without sending messages (the runtime); its handle. */
  newVmSpace(): number {
    const made = this.tryNewVmSpace();
    if (typeof made === 'string') throw new Error(`createVM: ${made}`);
    return made;
  }

  /** newVmSpace, or why the VM cannot be made ("insufficient memory for V86 pages", …). */
  tryNewVmSpace(): number | string {
    if (!(this.sequenceIndex === SYS_VM_INIT_INDEX))
      fail('newVmSpace: VMs are created after Sys_VM_Init');
    const made = createVmSpace(this.layout, this.host.locker, this.host.actor);
    if (typeof made === 'string') return made;
    if (!(made > 0 && vmLive(this.layout, made))) fail('newVmSpace: VM not live', made);
    return vmHandleOf(made);
  }

  /** Frees a VM's memory and address space (the runtime, after Destroy_VM). */
  releaseVmSpace(handle: number): void {
    const vm = vmOfHandle(this.layout, handle);
    if (!(vm > 0)) fail('releaseVmSpace: not a live VM (the system VM is never destroyed)');
    this.releaseVm(vm);
    if (!(vmOfHandle(this.layout, handle) < 0)) fail('releaseVmSpace: handle still live', handle);
  }

  /** Creates a VM (after Sys_VM_Init): Create_VM, VM_Critical_Init, VM_Init to every device. */
  createVM(): VmContext {
    if (!(this.sequenceIndex === SYS_VM_INIT_INDEX))
      fail('createVM: VMs are created after Sys_VM_Init and before exit');
    const made = createVmSpace(this.layout, this.host.locker, this.host.actor);
    if (typeof made === 'string') throw new Error(`createVM: ${made}`);
    const handle = vmHandleOf(made);
    if (!(vmOfHandle(this.layout, handle) === made)) fail('createVM: handle of another VM', handle);
    // On carry the VM never ran: no VM_Terminate; VM_Not_Executeable says why (VNE_*Fail).
    const refusal = drive(this.phases.createVm(handle), this.deliver);
    if (refusal !== undefined) {
      const by = refusal.carried.map((d) => d.ctx.name).join(', ');
      throw new Error(`createVM: ${refusal.message} failed (carry set by ${by})`);
    }
    const ctx = this.vm(handle);
    if (!(ctx.handle === handle)) fail('createVM: context of another VM', handle);
    return ctx;
  }

  /**
   * The context of an existing VM on this thread, by its handle (the runtime's side of it;
   * the VM's own code gets it as a VmContext: Int 31h and ring-3 memory access only).
   */
  vm(handle: number, name?: string): VmCore {
    const vm = vmOfHandle(this.layout, handle);
    if (!(vm >= 0)) fail(`vm: ${handle.toString(16)}h is not a live VM handle`);
    let ctx = this.vmContexts.get(vm);
    if (ctx === undefined) {
      ctx = makeVmContext(
        this.layout,
        this,
        claimActor(this.layout, ACTOR_VM, vm, 0),
        name ?? `VM ${vm}`,
        vm,
        handle,
      );
      this.hostContext ??= ctx;
      this.vmContexts.set(vm, ctx);
    }
    if (!(ctx.vm === vm && ctx.handle === handle)) fail('vm: context of another VM', vm);
    return ctx;
  }

  /** Destroys a VM: VM_Terminate, VM_Not_Executeable, Destroy_VM, then frees its memory. */
  destroyVM(vmCtx: VmContext | number): void {
    const handle = typeof vmCtx === 'number' ? vmCtx : vmCtx.handle;
    const vm = vmOfHandle(this.layout, handle);
    if (!(vm > 0)) fail('destroyVM: not a live VM (the system VM is never destroyed)');
    drive(this.phases.endVm(handle, true, VNE_Closed), this.deliver);
    if (this.vmContexts.has(vm)) fail('destroyVM: the VM keeps a context', vm);
    if (vmLive(this.layout, vm)) fail('destroyVM: the VM is still live', vm);
  }

  private releaseVm(vm: number): void {
    if (!(vm > 0 && vm < this.layout.options.vmMax)) fail('releaseVm: not a VM slot', vm);
    freeVmBlocks(this.host, vm);
    teardownVmSpace(this.layout, this.host.locker, vm, (v) =>
      dropAliasesOf(this.host, v, 0, SHARED_ARENA_FIRST_PAGE),
    );
    if (vmLive(this.layout, vm)) fail('releaseVm: VM still live after its teardown', vm);
    const ctx = this.vmContexts.get(vm);
    if (ctx !== undefined) {
      ctx.broken = new Error(`VM ${ctx.name}: destroyed; its context can make no more calls`);
      releaseActor(this.layout, ctx.actor);
      this.vmContexts.delete(vm);
    }
    this.freeListGrew();
  }

  /** The invariant violations of DESIGN.md §6 (empty when the machine is sound). */
  check(options: CheckOptions = {}): Violation[] {
    return check(this.layout, options);
  }

  /**
   * Reads through the page tables like a CPU access. `who`: null for ring-0 code in the system
   * VM; a device (ring 0 in its current VM); a device's view of a VM (`dev.inVM(handle)`:
   * ring 0 in that VM); or a VM (ring 3 in that VM, always: a VM does not choose its ring).
   * `options.ring` may ask ring 3 of ring-0 code; a VM asked for ring 0 is a TypeError.
   */
  readLinear(who: AccessWho, address: number, length: number, options?: AccessOptions): Uint8Array {
    const [vm, ring] = accessOf(this.layout, who, options);
    return readLinear(this.host, vm, address, length, { ring });
  }

  /** Writes through the page tables like a CPU access; `who` as for readLinear. */
  writeLinear(who: AccessWho, address: number, bytes: Uint8Array, options?: AccessOptions): void {
    const [vm, ring] = accessOf(this.layout, who, options);
    writeLinear(this.host, vm, address, bytes, { ring });
  }

  readPhysical(address: number, length: number): Uint8Array {
    return readPhysical(this.layout, address, length);
  }

  writePhysical(address: number, bytes: Uint8Array): void {
    writePhysical(this.layout, address, bytes);
  }

  // ---- KernelHooks: what services need from the kernel beyond the buffer

  freeListGrew(): void {
    if (!initCompleteDone(this.layout)) return;
    const free = freeCount(this.layout);
    if (free === 0) return;
    if (this.dispatcher !== undefined) this.dispatcher.freeListGrew(free);
    else this.callbacks.runChain(FREE_PHYS_REG_AVAILABLE, free);
  }

  pagesNeeded(count: number): boolean {
    if (!initCompleteDone(this.layout)) return false;
    if (this.dispatcher !== undefined) return this.dispatcher.pagesNeeded(count);
    const before = freeCount(this.layout);
    this.callbacks.runChain(FREE_PHYS_REG_NEEDED, count);
    return freeCount(this.layout) > before;
  }

  /**
   * Routes free-physical-region requests to other threads (the runtime): callbacks then
   * run in the thread of the device that registered them, asked by runCallback.
   */
  setCallbackDispatcher(dispatcher: CallbackDispatcher): void {
    this.dispatcher = dispatcher;
  }

  /** Runs a callback registered on this thread, by its id; resolves to carry. */
  runCallback(id: number, request: number, count: number): Promise<boolean> {
    return this.callbacks.runOne(id, request, count);
  }

  /** How many Free_Phys_Reg callbacks are registered (every thread's). */
  callbackCount(): number {
    return this.callbacks.count();
  }

  /** The registered callbacks (global id, owning actor), in registration order. */
  callbackOwners(): { id: number; actor: number }[] {
    return this.callbacks.owners();
  }

  registerCallback(ctx: Context, fn: FreePhysRegCallback): number {
    return this.callbacks.register(this.host.locker, ctx, fn);
  }

  /** Records a rule violation in the actor's slot, where every thread's checker sees it. */
  violation(ctx: Context, serviceSlot: number): void {
    recordViolation(this.layout, ctx.actor, serviceSlot);
  }

  private assertNoLocksHeld(message: string): void {
    const held = check(this.layout, { locksOnly: true });
    if (!(held.length === 0))
      fail(`${message}: a lock is held at a phase boundary: ${held[0]?.message}`);
  }
}

/** An in-process kernel on a fresh buffer, before Sys_Critical_Init. */
export function createKernel(options: Partial<MachineOptions> = {}): Kernel {
  return new Kernel(Layout.create(options), true);
}

/**
 * A kernel over a buffer another thread created (hand workers `kernel.sab`). With
 * `{ hostSlot: false }` it takes no actor slot of its own: the first device or VM made on it
 * also does its host work (linear access, callback registration), so a worker of one actor
 * costs one slot of machine.actorMax, not two.
 */
export function attachKernel(sab: SharedArrayBuffer, options: { hostSlot?: boolean } = {}): Kernel {
  return new Kernel(
    Layout.attach(sab),
    false,
    options.hostSlot === false ? 'first-context' : undefined,
  );
}

export { ACTOR_GOT_INIT_COMPLETE };
