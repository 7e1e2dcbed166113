/**
 * The kernel: one simulated machine on one SharedArrayBuffer, and the contexts (devices,
 * VMs) that call its services on this thread. createKernel boots a fresh machine;
 * attachKernel gives another thread (a worker) its own Kernel over the same buffer.
 * It sends control messages in DDK order for in-process use; the multi-threaded coordinator
 * is src/main, not here.
 */
import { assert } from './assert.js';
import { check, type CheckOptions, type Violation } from './checker.js';
import { VM_CREATE_MESSAGES, vmEndMessages } from './control_sequence.js';
import { type MachineOptions, resolveOptions } from './config.js';
import {
  ControlMessage,
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
  ACTOR_FREE,
  ACTOR_GOT_INIT_COMPLETE,
  ACTOR_HOST,
  ACTOR_LIVE,
  ACTOR_VM,
  ACTOR_DEAD,
  ACTOR_WORDS,
  CALLBACK_MAX,
  CALLBACK_WORDS,
  H,
  Layout,
  LOCK_MISC,
} from './layout.js';
import { bootMachine, createVmSpace, teardownVmSpace, vmHandleOf, vmOfHandle } from './machine.js';
import { holdsFrames } from './frames.js';
import { SYSTEM_VM } from './page_table.js';
import {
  type DeviceContext,
  type DeviceInVm,
  isDeviceInVm,
  makeDeviceContext,
  makeVmContext,
  type VmContext,
  type VmCore,
} from './services/index.js';
import { takeInstanceSnapshot } from './services/v86_data_area.js';
import { freeVmBlocks } from './services/page_free.js';
import { dropAliasesOf } from './services/lin_page_lock.js';
import {
  readLinear,
  writeLinear,
  readPhysical,
  writePhysical,
  type AccessOptions,
} from './memory_access.js';

/** Who makes a linear access: null (ring 0, system VM), a device, a device in a VM, a VM. */
export type AccessWho = VmContext | DeviceContext | DeviceInVm | null;

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
  initOrder: number;
  loadIndex: number;
  onControl: ControlHandler | undefined;
}

interface CallbackEntry {
  id: number;
  ctx: Context;
  fn: FreePhysRegCallback;
}

/** How callback requests leave this thread when devices live in other workers. */
export interface CallbackDispatcher {
  /** Request 0: `freeCount` pages are on the free list. Asynchronous: returns at once. */
  freeListGrew(freeCount: number): void;
  /** Request 1: waits (bounded) for the chain to run; true if pages were freed. */
  pagesNeeded(count: number): boolean;
}

export interface ControlResult {
  message: ControlMessageName;
  /** Devices that set carry, in the order they were called. */
  carried: string[];
  /** Sys_VM_Init carry: Windows exits. */
  systemExit: boolean;
}

/** The order of system-wide messages; each may be sent once, in this order. */
const SYSTEM_SEQUENCE: ControlMessageName[] = [
  'Sys_Critical_Init',
  'Device_Init',
  'Init_Complete',
  'Sys_VM_Init',
  'Sys_VM_Terminate',
  'System_Exit',
  'Sys_Critical_Exit',
];
const INIT_MESSAGES: ControlMessageName[] = ['Sys_Critical_Init', 'Device_Init', 'Init_Complete'];
const TWINS: Partial<Record<ControlMessageName, ControlMessageName>> = {
  Sys_VM_Terminate: 'Sys_VM_Terminate2',
  System_Exit: 'System_Exit2',
  Sys_Critical_Exit: 'Sys_Critical_Exit2',
  VM_Terminate: 'VM_Terminate2',
  VM_Not_Executeable: 'VM_Not_Executeable2',
  Destroy_VM: 'Destroy_VM2',
};

export class Kernel implements KernelHooks {
  readonly layout: Layout;
  private hostContext: Context | undefined;
  private readonly devices: DeviceEntry[] = [];
  private readonly callbacks: CallbackEntry[] = [];
  private readonly vmContexts = new Map<number, VmCore>();
  private dispatching = false;
  private dispatcher: CallbackDispatcher | undefined;
  private sequenceIndex = -1;

  /**
   * `hostActor`: the actor slot of a host this buffer already has (a restored snapshot);
   * without it the kernel claims a new one.
   */
  constructor(layout: Layout, boot: boolean, hostActor?: number | 'first-context') {
    this.layout = layout;
    // 'first-context' (a worker): no slot of its own; its device or VM does the host's work.
    if (hostActor !== 'first-context') {
      this.hostContext = new Context(
        layout,
        this,
        hostActor ?? this.claimActor(ACTOR_HOST, SYSTEM_VM, 0),
        'device',
        'VMM',
        SYSTEM_VM,
      );
    }
    if (boot) bootMachine(layout, this.host.locker);
  }

  /** The context the kernel's own work (boot, VM spaces, linear access) runs as. */
  private get host(): Context {
    assert(this.hostContext !== undefined, 'kernel: no context on this thread yet');
    return this.hostContext;
  }

  get sab(): SharedArrayBuffer {
    return this.layout.sab;
  }

  /** The current phase: the id of the last system control message, -1 before any. */
  get phase(): number {
    return Atomics.load(this.layout.header, H.phase);
  }

  get systemVmHandle(): number {
    return vmHandleOf(SYSTEM_VM);
  }

  /** A device context on this thread. Its current VM is the system VM. */
  device(name: string, options: DeviceOptions = {}): DeviceContext {
    const initOrder = options.initOrder ?? 0x80000000;
    assert(
      Number.isInteger(initOrder) && initOrder >= 0 && initOrder <= 0xffffffff,
      'device: initOrder is a dword',
    );
    const actor = this.claimActor(ACTOR_DEVICE, SYSTEM_VM, initOrder | 0);
    const ctx = makeDeviceContext(this.layout, this, actor, name);
    this.hostContext ??= ctx;
    this.devices.push({
      ctx,
      initOrder,
      loadIndex: this.devices.length,
      onControl: options.onControl,
    });
    return ctx;
  }

  /**
   * Sends one system control message to every device (ascending init order; the "…2" twin
   * follows in descending order) and makes it the current phase.
   */
  systemControl(name: ControlMessageName): ControlResult {
    this.beginPhase(name);
    const result: ControlResult = { message: name, carried: [], systemExit: false };
    this.broadcast(name, this.systemVmHandle, result);
    const twin = TWINS[name];
    if (twin !== undefined) this.broadcast(twin, this.systemVmHandle, result, true);
    if (name === 'Init_Complete') this.afterInitComplete();
    if (name === 'Sys_VM_Init' && result.carried.length > 0) result.systemExit = true;
    return result;
  }

  /**
   * Makes `name` the current phase after checking the DDK order and that no lock is held;
   * sends nothing (the runtime sends the messages to its workers itself).
   */
  beginPhase(name: ControlMessageName): void {
    const index = SYSTEM_SEQUENCE.indexOf(name);
    assert(index >= 0, `systemControl: ${name} is not a system-wide message`);
    assert(index > this.sequenceIndex, `systemControl: ${name} out of DDK order`);
    if (index > 3)
      assert(this.sequenceIndex >= 3 || index >= 5, `systemControl: ${name} before Sys_VM_Init`);
    else assert(index === this.sequenceIndex + 1, `systemControl: ${name} skips a message`);
    this.assertNoLocksHeld(name);
    this.sequenceIndex = index;
    Atomics.store(this.layout.header, H.phase, ControlMessage[name]);
  }

  private broadcast(
    name: ControlMessageName,
    vmHandle: number,
    result: ControlResult,
    descending = false,
    edx = 0,
  ): void {
    const order = [...this.devices]
      .filter((d) => (this.actorFlags(d.ctx.actor) & ACTOR_DROPPED) === 0)
      .sort((a, b) => a.initOrder - b.initOrder || a.loadIndex - b.loadIndex);
    if (descending) order.reverse();
    for (const entry of order) {
      if (name === 'Init_Complete') this.setActorFlag(entry.ctx.actor, ACTOR_GOT_INIT_COMPLETE);
      const carry = entry.onControl?.(name, entry.ctx, vmHandle, edx);
      assert(
        !((carry as unknown) instanceof Promise),
        `${name}: in-process control handlers are synchronous`,
      );
      assert(
        entry.ctx.locker.heldCount() === 0,
        `${name}: ${entry.ctx.name} returned holding a lock`,
      );
      if (carry !== true) continue;
      result.carried.push(entry.ctx.name);
      if (INIT_MESSAGES.includes(name)) this.setActorFlag(entry.ctx.actor, ACTOR_DROPPED);
    }
  }

  private afterInitComplete(): void {
    this.completeInit();
    this.freeListGrew();
  }

  /** Every device has processed Init_Complete: take the instance snapshot, allow callbacks. */
  completeInit(): void {
    takeInstanceSnapshot(this.host);
    Atomics.store(this.layout.header, H.initCompleteDone, 1);
  }

  /** Marks that a device received Init_Complete (the runtime, before it sends it). */
  markInitCompleteReceived(actor: number): void {
    this.setActorFlag(actor, ACTOR_GOT_INIT_COMPLETE);
  }

  /** Drops a device that set carry during initialization: no more messages or callbacks. */
  dropDevice(actor: number): void {
    this.setActorFlag(actor, ACTOR_DROPPED);
  }

  /** Makes a VM's address space without sending messages (the runtime); its handle. */
  newVmSpace(): number {
    const made = this.tryNewVmSpace();
    if (typeof made === 'string') throw new Error(`createVM: ${made}`);
    return made;
  }

  /** newVmSpace, or why the VM cannot be made ("insufficient memory for V86 pages", …). */
  tryNewVmSpace(): number | string {
    assert(this.sequenceIndex === 3, 'newVmSpace: VMs are created after Sys_VM_Init');
    const made = createVmSpace(this.layout, this.host.locker, this.host.actor);
    return typeof made === 'string' ? made : vmHandleOf(made);
  }

  /** Frees a VM's memory and address space (the runtime, after Destroy_VM). */
  releaseVmSpace(handle: number): void {
    const vm = vmOfHandle(this.layout, handle);
    assert(vm > 0, 'releaseVmSpace: not a live VM (the system VM is never destroyed)');
    this.releaseVm(vm);
  }

  /** Creates a VM (after Sys_VM_Init): Create_VM, VM_Critical_Init, VM_Init to every device. */
  createVM(): VmContext {
    assert(this.sequenceIndex === 3, 'createVM: VMs are created after Sys_VM_Init and before exit');
    const made = createVmSpace(this.layout, this.host.locker, this.host.actor);
    if (typeof made === 'string') throw new Error(`createVM: ${made}`);
    const handle = vmHandleOf(made);
    for (const { message, vneOnCarry } of VM_CREATE_MESSAGES) {
      const result: ControlResult = { message, carried: [], systemExit: false };
      this.broadcast(message, handle, result);
      if (result.carried.length === 0) continue;
      // The VM never ran: no VM_Terminate; VM_Not_Executeable says why (VNE_*Fail).
      this.broadcastVmEnd(handle, false, vneOnCarry);
      this.releaseVm(made);
      throw new Error(`createVM: ${message} failed (carry set by ${result.carried.join(', ')})`);
    }
    return this.vm(handle);
  }

  /**
   * The context of an existing VM on this thread, by its handle (the runtime's side of it;
   * the VM's own code gets it as a VmContext: Int 31h and ring-3 memory access only).
   */
  vm(handle: number, name?: string): VmCore {
    const vm = vmOfHandle(this.layout, handle);
    assert(vm >= 0, `vm: ${handle.toString(16)}h is not a live VM handle`);
    let ctx = this.vmContexts.get(vm);
    if (ctx === undefined) {
      ctx = makeVmContext(
        this.layout,
        this,
        this.claimActor(ACTOR_VM, vm, 0),
        name ?? `VM ${vm}`,
        vm,
        handle,
      );
      this.hostContext ??= ctx;
      this.vmContexts.set(vm, ctx);
    }
    return ctx;
  }

  /** Destroys a VM: VM_Terminate, VM_Not_Executeable, Destroy_VM, then frees its memory. */
  destroyVM(vmCtx: VmContext | number): void {
    const handle = typeof vmCtx === 'number' ? vmCtx : vmCtx.handle;
    const vm = vmOfHandle(this.layout, handle);
    assert(vm > 0, 'destroyVM: not a live VM (the system VM is never destroyed)');
    this.broadcastVmEnd(handle, true, VNE_Closed);
    this.releaseVm(vm);
  }

  private broadcastVmEnd(handle: number, normal: boolean, vneFlags: number): void {
    const result: ControlResult = { message: 'VM_Terminate', carried: [], systemExit: false };
    for (const [message, twin] of vmEndMessages(normal)) {
      const edx = message === 'VM_Not_Executeable' ? vneFlags : 0;
      this.broadcast(message, handle, result, false, edx);
      this.broadcast(twin, handle, result, true, edx);
    }
  }

  private releaseVm(vm: number): void {
    freeVmBlocks(this.host, vm);
    teardownVmSpace(this.layout, this.host.locker, vm, (v) =>
      dropAliasesOf(this.host, v, 0, SHARED_ARENA_FIRST_PAGE),
    );
    const ctx = this.vmContexts.get(vm);
    if (ctx !== undefined) {
      ctx.broken = new Error(`VM ${ctx.name}: destroyed; its context can make no more calls`);
      // The slot is free for the next VM unless the checker still has to report something in
      // its name (frames held out, synchronous calls at interrupt time): then it stays dead.
      const base = ctx.actor * ACTOR_WORDS;
      const holds =
        holdsFrames(this.layout, ctx.actor) ||
        Atomics.load(this.layout.actors, base + AC.violations) !== 0;
      Atomics.store(this.layout.actors, base + AC.state, holds ? ACTOR_DEAD : ACTOR_FREE);
      if (!holds) Atomics.sub(this.layout.header, H.actorCount, 1);
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
    const [vm, ring] = this.accessOf(who, options);
    return readLinear(this.host, vm, address, length, { ring });
  }

  /** Writes through the page tables like a CPU access; `who` as for readLinear. */
  writeLinear(who: AccessWho, address: number, bytes: Uint8Array, options?: AccessOptions): void {
    const [vm, ring] = this.accessOf(who, options);
    writeLinear(this.host, vm, address, bytes, { ring });
  }

  /** The address space and ring of an access by `who`. */
  private accessOf(who: AccessWho, options: AccessOptions | undefined): [number, 0 | 3] {
    const ring = options?.ring;
    if (ring !== undefined && ring !== 0 && ring !== 3) {
      throw new TypeError(`readLinear/writeLinear: ring must be 0 or 3, got ${String(ring)}`);
    }
    if (who === null) return [SYSTEM_VM, ring ?? 0];
    if (isDeviceInVm(who)) return [who.currentVm(), ring ?? 0];
    const ctx = who as unknown as VmCore | DeviceContext;
    if (ctx.kind === 'vm' && 'handle' in ctx) {
      if (ring === 0) throw new TypeError(`${ctx.name}: a VM's memory access is ring 3`);
      const vm = vmOfHandle(this.layout, ctx.handle);
      if (vm < 0) throw new RangeError(`${ctx.name}: the VM has been destroyed`);
      return [vm, 3];
    }
    return [ctx.vm, ring ?? 0];
  }

  readPhysical(address: number, length: number): Uint8Array {
    return readPhysical(this.layout, address, length);
  }

  writePhysical(address: number, bytes: Uint8Array): void {
    writePhysical(this.layout, address, bytes);
  }

  // ---- KernelHooks: what services need from the kernel beyond the buffer

  freeListGrew(): void {
    if (Atomics.load(this.layout.header, H.initCompleteDone) === 0) return;
    const free = Atomics.load(this.layout.header, H.freeCount);
    if (free === 0) return;
    if (this.dispatcher !== undefined) this.dispatcher.freeListGrew(free);
    else this.runCallbacks(FREE_PHYS_REG_AVAILABLE, free);
  }

  pagesNeeded(count: number): boolean {
    if (Atomics.load(this.layout.header, H.initCompleteDone) === 0) return false;
    if (this.dispatcher !== undefined) return this.dispatcher.pagesNeeded(count);
    const before = Atomics.load(this.layout.header, H.freeCount);
    this.runCallbacks(FREE_PHYS_REG_NEEDED, count);
    return Atomics.load(this.layout.header, H.freeCount) > before;
  }

  /**
   * Routes free-physical-region requests to other threads (the runtime): callbacks then
   * run in the thread of the device that registered them, asked by runCallback.
   */
  setCallbackDispatcher(dispatcher: CallbackDispatcher): void {
    this.dispatcher = dispatcher;
  }

  /** Runs a callback registered on this thread, by its id; resolves to carry. */
  async runCallback(id: number, request: number, count: number): Promise<boolean> {
    const entry = this.callbacks.find((e) => e.id === id);
    if (entry === undefined || (this.actorFlags(entry.ctx.actor) & ACTOR_DROPPED) !== 0)
      return false;
    const carry: unknown = await entry.fn(request, count);
    return carry === true;
  }

  /** The registered callbacks (global id, owning actor), in registration order. */
  callbackOwners(): { id: number; actor: number }[] {
    const owners = [];
    for (let id = 0; id < Math.min(this.layout.header[H.calbkCount]!, CALLBACK_MAX); id++) {
      owners.push({ id, actor: this.layout.callbacks[id * CALLBACK_WORDS]! });
    }
    return owners;
  }

  registerCallback(ctx: Context, fn: FreePhysRegCallback): number {
    const l = this.layout;
    this.host.locker.acquire(LOCK_MISC);
    const id = l.header[H.calbkCount]!;
    const ok = id < CALLBACK_MAX;
    if (ok) {
      l.callbacks[id * CALLBACK_WORDS] = ctx.actor;
      l.callbacks[id * CALLBACK_WORDS + 1] = this.callbacks.length;
      l.header[H.calbkCount] = id + 1;
    }
    this.host.locker.release(LOCK_MISC);
    if (!ok) return -1;
    this.callbacks.push({ id, ctx, fn });
    return id;
  }

  /** Records a rule violation in the actor's slot, where every thread's checker sees it. */
  violation(ctx: Context, serviceSlot: number): void {
    const base = ctx.actor * ACTOR_WORDS;
    const word = serviceSlot < 32 ? AC.violationSlotsLow : AC.violationSlotsHigh;
    Atomics.add(this.layout.header, H.interruptViolations, 1);
    Atomics.or(this.layout.actors, base + word, 1 << (serviceSlot % 32));
    Atomics.add(this.layout.actors, base + AC.violations, 1);
  }

  /**
   * Runs the callbacks in rotated order until one sets carry. Not re-entered: pages that a
   * callback frees while handling a request are reported by the next Request 0.
   */
  private runCallbacks(request: number, count: number): void {
    if (this.dispatching || this.callbacks.length === 0) return;
    this.dispatching = true;
    try {
      const n = this.callbacks.length;
      const start = Atomics.add(this.layout.header, H.calbkRotation, 1) % n;
      for (let i = 0; i < n; i++) {
        const entry = this.callbacks[(start + i) % n]!;
        if ((this.actorFlags(entry.ctx.actor) & ACTOR_DROPPED) !== 0) continue;
        if (entry.fn(request, count) === true) break;
      }
    } finally {
      this.dispatching = false;
    }
  }

  // ---- actors

  private claimActor(kind: number, vm: number, initOrder: number): number {
    const l = this.layout;
    for (let actor = 0; actor < l.options.actorMax; actor++) {
      const base = actor * ACTOR_WORDS;
      if (Atomics.compareExchange(l.actors, base + AC.state, ACTOR_FREE, ACTOR_LIVE) !== ACTOR_FREE)
        continue;
      l.actors.fill(0, base + 1, base + ACTOR_WORDS); // what a VM before left in the slot
      l.actors[base + AC.kind] = kind;
      l.actors[base + AC.vm] = vm;
      l.actors[base + AC.initOrder] = initOrder;
      Atomics.add(l.header, H.actorCount, 1);
      return actor;
    }
    throw new Error(`too many devices and VMs: actorMax is ${l.options.actorMax}`);
  }

  private actorFlags(actor: number): number {
    return Atomics.load(this.layout.actors, actor * ACTOR_WORDS + AC.flags);
  }

  private setActorFlag(actor: number, flag: number): void {
    Atomics.or(this.layout.actors, actor * ACTOR_WORDS + AC.flags, flag);
  }

  private assertNoLocksHeld(message: string): void {
    const held = check(this.layout, { locksOnly: true });
    assert(
      held.length === 0,
      `${message}: a lock is held at a phase boundary: ${held[0]?.message}`,
    );
  }
}

/** An in-process kernel on a fresh buffer, before Sys_Critical_Init. */
export function createKernel(options: Partial<MachineOptions> = {}): Kernel {
  return new Kernel(Layout.create(options), true);
}

interface PooledMachine {
  layout: Layout;
  snapshot: Uint8Array;
  busy: boolean;
}
const pool = new Map<string, PooledMachine>();

/**
 * A freshly booted kernel, like createKernel, but made by copying a booted snapshot into a
 * buffer this thread reuses: many short runs in a row (controlled mode) then cost a copy,
 * not a new SharedArrayBuffer each. The previous kernel of the same options must be done
 * with (it is, when runs follow one another); `release` hands the buffer back.
 */
export function pooledKernel(options: Partial<MachineOptions> = {}): {
  kernel: Kernel;
  release: () => void;
} {
  const key = JSON.stringify(resolveOptions(options));
  let entry = pool.get(key);
  if (entry === undefined) {
    const booted = createKernel(options);
    entry = { layout: booted.layout, snapshot: new Uint8Array(booted.sab).slice(), busy: false };
    pool.set(key, entry);
  }
  if (entry.busy) return { kernel: createKernel(options), release: () => undefined };
  const machine = entry;
  machine.busy = true;
  new Uint8Array(machine.layout.sab).set(machine.snapshot);
  return {
    kernel: new Kernel(machine.layout, false, 0),
    release: () => void (machine.busy = false),
  };
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
