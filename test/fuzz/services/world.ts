/**
 * One machine of the services fuzz: three devices and two or three VMs on an in-process
 * kernel, driven through every phase (before Sys_Critical_Init, the init messages, the run with
 * VMs created and destroyed, the exit messages) by one generated event list, every call made
 * at task time or at interrupt time and checked by oracle.ts, the checker after each. One
 * thread: the interleaving is the event list's; real-thread concurrency is test/concurrency.
 */
import fc from 'fast-check';
import { Int31 } from '../../../src/shared/services/dpmi/int31.js';
import { serviceTable } from '../../../src/shared/services/index.js';
import type { ServiceDef } from '../../../src/shared/services/service.js';
import type { Refusal } from '../../../src/shared/context.js';
import { findBlock } from '../../../src/shared/blocks.js';
import { COMMON_SPACE, readPte } from '../../../src/shared/page_table.js';
import { ptePresent } from '../../../src/shared/pte.js';
import {
  createKernel,
  PageFaultError,
  PageMapFreePhysReg,
  PG_SYS,
  presets,
  type ControlMessageName,
  type DeviceContext,
  type Kernel,
  type LockingPolicy,
  type RegistersIn,
} from '../../../src/index.js';
import type { VmCore } from '../../../src/shared/services/index.js';
import {
  eventArb,
  int31Registers,
  pick,
  resolveArgs,
  type FuzzEvent,
  type DrawnRegisters,
  reg16,
} from './args.js';
import { type Actor, Knowledge, type LiveState, newActor, remember } from './knowledge.js';
import {
  certainRefusal,
  DDK_FAILURE,
  DPMI_ERRORS,
  DPMI_RESOURCE_UNAVAILABLE,
  DPMI_UNSUPPORTED_FUNCTION,
  dpmiMisuse,
  failureMeansRefusal,
  INT31_REFUSED,
  INTERRUPT_REASON,
  misuse,
  type MisuseContext,
  sameResult,
  type Tally,
  wellFormed,
} from './oracle.js';

type Context = DeviceContext | VmCore;

/** The phases, in DDK order, with the share of the events each gets. */
const PHASES = [
  ['boot', 0.03],
  ['Sys_Critical_Init', 0.08],
  ['Device_Init', 0.07],
  ['Init_Complete', 0.07],
  ['Sys_VM_Init', 0.04],
  ['run', 0.6],
  ['Sys_VM_Terminate', 0.04],
  ['System_Exit', 0.03],
  ['Sys_Critical_Exit', 0.04],
] as const;
export type PhaseName = (typeof PHASES)[number][0];
export const PHASE_NAMES: readonly PhaseName[] = PHASES.map(([name]) => name);

/** Services drawn more often: their success paths need an earlier success, or luck. */
const BOOSTED = [
  '_PageCommit',
  '_PageDecommit',
  '_PageLock',
  '_PageUnLock',
  '_PageReAllocate',
  '_PhysIntoV86',
  '_MapIntoV86',
  '_Allocate_Global_V86_Data_Area',
];

export interface Program {
  phases: FuzzEvent[][];
  /** Events run by a device from inside its control procedure, one message in two. */
  control: FuzzEvent[];
}

/** The events of one machine's life: about `calls` of them, spread over the phases. */
export function programArb(calls: number): fc.Arbitrary<Program> {
  const boosted = BOOSTED.map((name) => serviceTable.findIndex((def) => def.name === name));
  const event = eventArb(serviceTable.length, boosted);
  const phaseArbs = PHASES.map(([, share]) => {
    const most = Math.max(2, Math.round(calls * share));
    return fc.array(event, { minLength: Math.floor(most / 2), maxLength: most });
  });
  return fc.record({
    phases: fc.tuple(...phaseArbs),
    control: fc.array(event, { maxLength: Math.max(2, Math.round(calls * 0.03)) }),
  });
}

export interface WorldOptions {
  locking: LockingPolicy;
  /** The full checker after every call that succeeded, and after every n-th call. */
  checkEvery: number;
  /** Each call as it is made, for debugging a failure. */
  trace?: (line: string) => void;
}

const hex = (n: number): string => `${(n >>> 0).toString(16)}h`;

/** An argument as a person reads it in a failure message. */
export function describeArg(value: unknown): string {
  if (typeof value === 'number')
    return Number.isInteger(value) && value >= 0 ? hex(value) : String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'callback';
  if (ArrayBuffer.isView(value))
    return `${value.constructor.name}(${(value as Uint8Array).length})`;
  if (typeof value === 'string') return JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

const SERVICES = new Map(serviceTable.map((def) => [def.name, def]));

/** The refusal a call recorded (read through a function: TypeScript would keep it narrowed). */
const refusalOf = (ctx: Context): Refusal | undefined => ctx.lastError;

export class World {
  readonly kernel: Kernel;
  readonly devices: Actor[] = [];
  vms: Actor[] = [];
  readonly known: Knowledge;
  phase: PhaseName = 'boot';
  spare = { first: -1, count: 0 };
  pinnedHandle = -1;
  pinnedBlock = -1;
  private initCompleteSent = false;
  private depth = 0;
  private readonly callsOn = new Map<Context, number>();
  /** actor/service pairs of synchronous calls made at interrupt time: the checker reports each. */
  readonly interruptPairs = new Set<string>();
  private sinceCheck = 0;
  private controlQueue: FuzzEvent[] = [];
  private controlTurn = 0;
  private callbackTurn = 0;
  private vmCount = 0;
  /** The call being made, for failure messages. */
  private current = '';

  constructor(
    readonly options: WorldOptions,
    readonly tally: Tally,
  ) {
    this.kernel = createKernel({ ...presets.testMin, locking: options.locking });
    ['VDEV_A', 'VDEV_B', 'VDEV_C'].forEach((name, i) => {
      const ctx = this.kernel.device(name, {
        initOrder: 0x10000 * (i + 1),
        onControl: (message, device, vmHandle) => this.onControl(device, message, vmHandle),
      });
      this.devices.push(newActor(name, ctx, null));
    });
    this.known = new Knowledge(this.devices[0]!.ctx._GetNulPageHandle());
  }

  /** Runs the whole life of the machine. Throws, with the call that failed, on any finding. */
  run(program: Program): void {
    this.controlQueue = [...program.control];
    PHASES.forEach(([phase], i) => {
      this.outside(`entering ${phase}`, () => this.enter(phase));
      for (const event of program.phases[i]!) this.execute(event, undefined);
    });
    for (const device of this.devices) this.putBack(device);
    this.checkNow({ final: true });
    this.checkInterruptViolations();
  }

  /** Runs kernel work that is no service call (phases, VMs); what it throws gets a context. */
  private outside(what: string, work: () => void): void {
    const outer = this.current;
    this.current = what;
    this.options.trace?.(`${this.phase}: ${what}`);
    try {
      work();
    } catch (error) {
      if (error instanceof Error && error.message.startsWith(`${this.phase}: `)) throw error;
      this.fail(`threw ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    this.current = outer;
  }

  private enter(phase: PhaseName): void {
    if (phase === 'run') {
      for (let i = 0; i < 2; i++) this.createVm();
    } else if (phase !== 'boot') {
      if (phase === 'Sys_VM_Terminate') while (this.vms.length > 0) this.destroyVm(this.vms[0]!);
      if (phase === 'Init_Complete') this.initCompleteSent = true;
      this.phase = phase;
      this.kernel.systemControl(phase as ControlMessageName);
      if (phase === 'Sys_Critical_Init') this.setUp();
    }
    this.phase = phase;
    this.checkNow({});
  }

  /**
   * Sys_Critical_Init: a region for each of two devices, the spare region the end needs to put
   * held frames back in, the pinned block V86 mappings may borrow frames from, the callbacks.
   */
  private setUp(): void {
    const [a, b, c] = this.devices as [Actor, Actor, Actor];
    const region = (actor: Actor, count: number): number => {
      const flags = PageMapFreePhysReg;
      const handle = this.expect(actor, '_PageAllocate', [count, PG_SYS, 0, 0, 0, 0, 0, flags]);
      return (handle as { eax: number }).eax >>> 12;
    };
    region(a, 12);
    region(b, 10);
    this.spare = { first: region(c, 2), count: 2 };
    const pinned = this.expect(c, '_PageAllocate', [4, PG_SYS, 0, 0, 0, 0, 0, 0]);
    this.pinnedHandle = (pinned as { eax: number }).eax;
    this.pinnedBlock = findBlock(this.kernel.layout, COMMON_SPACE, this.pinnedHandle >>> 12);
    for (let i = 0; i < 4; i++) remember(this.known.v86SourcePages, (this.pinnedHandle >>> 12) + i);
    for (const device of [a, b])
      this.expect(device, '_SetFreePhysRegCalBk', [this.callbackOf(device), 0]);
  }

  /** Makes a call the setup or the end needs; its result must not be a refusal. */
  private expect(actor: Actor, name: string, args: unknown[], result?: unknown): unknown {
    const actual = this.invoke(actor, SERVICES.get(name)!, args, 0);
    const refused = sameResult(actual, DDK_FAILURE[name]);
    if (refused || (result !== undefined && !sameResult(actual, result)))
      this.fail(`${name} returned ${describeArg(actual)}`, actor.ctx);
    return actual;
  }

  // ---- events

  execute(event: FuzzEvent, controlActor: Actor | undefined): void {
    const actors = controlActor ? [controlActor] : [...this.devices, ...this.vms];
    const actor = actors[event.actor % actors.length]!;
    switch (event.kind) {
      case 'lifecycle':
        if (this.phase === 'run' && controlActor === undefined)
          this.outside('VM lifecycle', () => this.lifecycle(event));
        return;
      case 'memory':
        return this.memoryAccess(actor, event);
      case 'int31':
        if (this.vms.length > 0 && controlActor === undefined)
          this.int31(this.vms[event.actor % this.vms.length]!, event);
        return;
      case 'service':
        return this.service(actor, event);
    }
  }

  private interruptDepth(event: FuzzEvent): number {
    return event.interrupt < 2 ? 1 : event.interrupt === 2 ? 2 : 0;
  }

  private service(actor: Actor, event: FuzzEvent): void {
    const def = serviceTable[event.service]!;
    const partner = this.known.undo.get(def.name);
    const replay = event.wildness >= 6 && event.args[7]!.n % 2 === 0 ? partner : undefined;
    const args =
      replay?.[event.args[7]!.n % replay.length] ??
      resolveArgs(def.name, event, this.known.pools(actor, this.liveState(actor)));
    this.attempt(actor, def, [...args], this.interruptDepth(event));
  }

  /** A call through the misuse rules: skipped (and counted) when it would break one. */
  private attempt(actor: Actor, def: ServiceDef, args: unknown[], depth: number): void {
    if (depth === 0 || def.async) {
      const why = misuse(this.misuseContext(actor), def.name, args);
      if (why !== undefined) {
        this.tally.count(this.tally.misuseSkipped, `${def.name}: ${why}`);
        return;
      }
    }
    this.invoke(actor, def, args, depth);
  }

  private liveState(actor: Actor): LiveState {
    return {
      ramPages: this.kernel.layout.options.ramPages,
      liveVmHandles: this.vms.map((vm) => vm.vm!.handle),
      systemVmHandle: this.kernel.systemVmHandle,
      pinnedHandle: this.pinnedHandle,
      spareFirst: this.spare.first,
      callback: this.callbackOf(actor),
    };
  }

  private misuseContext(actor: Actor): MisuseContext {
    return {
      l: this.kernel.layout,
      callerVm: actor.vm?.homeVm ?? actor.ctx.vm,
      pinnedBlock: this.pinnedBlock,
      pinnedHandle: this.pinnedHandle,
      spare: this.spare,
    };
  }

  // ---- one call and its checks

  /** Calls a service as `actor`, at `depth` interrupts deep, and checks what came back. */
  invoke(actor: Actor, def: ServiceDef, args: unknown[], depth: number): unknown {
    const ctx = actor.ctx;
    const callsBefore = (this.callsOn.get(ctx) ?? 0) + 1;
    this.callsOn.set(ctx, callsBefore);
    const outer = this.current;
    this.current = `${actor.name} ${def.name}(${args.map(describeArg).join(', ')})`;
    if (depth > 0) this.current += ` at interrupt time (depth ${depth})`;
    this.options.trace?.(`${this.phase}: ${this.current}`);
    const phase = this.kernel.phase;
    const rule = certainRefusal({
      name: def.name,
      async: def.async,
      initOnly: def.initOnly,
      interruptDepth: depth,
      inInitialization: phase >= 0 && phase <= 2,
      deviceBeforeInitComplete: actor.vm === null && !this.initCompleteSent,
      args,
    });
    ctx.lastError = undefined;
    const target = actor.services as unknown as Record<string, (...rest: unknown[]) => unknown>;
    const method = target[def.name]!;
    const result = this.guarded(ctx, depth, () => method.apply(target, args));
    const nested = this.callsOn.get(ctx)! > callsBefore;
    const refused = refusalOf(ctx) !== undefined;
    this.options.trace?.(`  -> ${describeArg(result)} ${refusalOf(ctx)?.reason ?? ''}`);
    this.verify(def, args, result, ctx, depth, nested);
    if (rule !== undefined) this.verifyRule(def, result, ctx, rule.reason, rule.rule);
    this.record(def.name, refused && !nested, result, depth, rule);
    const changed = !refused && def.name !== 'Get_VMM_Reenter_Count';
    if (!sameResult(result, DDK_FAILURE[def.name])) this.known.learn(actor, def.name, args, result);
    if (depth > 0 && !def.async) this.interruptPairs.add(`${ctx.actor}/${def.name}`);
    this.afterCall(changed);
    this.current = outer;
    return result;
  }

  /** Runs a call at `depth` interrupts deep; anything it throws is a finding. */
  private guarded<T>(ctx: Context, depth: number, call: () => T): T {
    this.depth++;
    try {
      if (depth === 0) return call();
      return depth === 1 ? ctx.atInterrupt(call) : ctx.atInterrupt(() => ctx.atInterrupt(call));
    } catch (error) {
      const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
      return this.fail(`threw ${stack}`, ctx);
    } finally {
      this.depth--;
    }
  }

  private verify(
    def: ServiceDef,
    args: unknown[],
    result: unknown,
    ctx: Context,
    depth: number,
    nested: boolean,
  ): void {
    const name = def.name;
    const refusal = ctx.lastError;
    const failure = DDK_FAILURE[name];
    if (!wellFormed(name, result)) this.fail(`result ${describeArg(result)} is no dword`, ctx);
    if (refusal !== undefined && !nested && refusal.service !== name)
      this.fail(`the refusal is recorded for ${refusal.service}`, ctx);
    const own = refusal !== undefined && refusal.service === name;
    if (own && !sameResult(result, failure))
      this.fail(`refused but returned ${describeArg(result)}, not the failure value`, ctx);
    if (refusal === undefined && sameResult(result, failure) && failureMeansRefusal(name, args))
      this.fail('returned the failure value without recording a refusal', ctx);
    if (nested && refusal !== undefined && !own && sameResult(result, failure))
      this.tally.clobbered += 1;
    if (name === 'Get_VMM_Reenter_Count' && result !== depth)
      this.fail(`Get_VMM_Reenter_Count is ${describeArg(result)} at depth ${depth}`, ctx);
  }

  private verifyRule(
    def: ServiceDef,
    result: unknown,
    ctx: Context,
    reason: string,
    rule: string,
  ): void {
    const refusal = ctx.lastError;
    const failure = def === Int31 ? INT31_REFUSED : DDK_FAILURE[def.name];
    if (refusal === undefined || !sameResult(result, failure))
      this.fail(`${rule}: not refused with the failure value`, ctx);
    if (reason !== '' && refusal.reason !== reason)
      this.fail(`${rule}: refused for "${refusal.reason}", not "${reason}"`, ctx);
  }

  private record(
    key: string,
    refused: boolean,
    result: unknown,
    depth: number,
    rule: object | undefined,
  ): void {
    const entry = this.tally.of(key);
    entry.calls += 1;
    if (refused) entry.refusals += 1;
    else if (result !== undefined) entry.successes += 1;
    if (depth > 0) entry.atInterrupt += 1;
    if (rule !== undefined) entry.certainRefusals += 1;
    this.tally.count(this.tally.phases, this.phase);
  }

  /**
   * The checker after a call that changed something (it succeeded), and after every
   * `checkEvery` calls otherwise: a refusal must change nothing, and one that did is caught a
   * few calls later. Not inside a callback: the outer call is not finished.
   */
  private afterCall(changed: boolean): void {
    if (this.depth > 0) return;
    this.sinceCheck += 1;
    if (changed || this.sinceCheck >= this.options.checkEvery) this.checkNow({});
  }

  /** The checker: nothing but the interrupt-time records of the calls the fuzz made there. */
  checkNow(options: { final?: boolean }): void {
    this.sinceCheck = 0;
    const found = this.kernel.check(options);
    const broken = found.filter((v) => v.kind !== 'interrupt-time');
    if (broken.length > 0)
      this.fail(`the checker found ${broken.map((v) => `[${v.kind}] ${v.message}`).join('; ')}`);
    if (found.length !== this.interruptPairs.size)
      this.fail(`${found.length} interrupt-time records for ${this.interruptPairs.size} pairs`);
  }

  private checkInterruptViolations(): void {
    const reported = new Set(
      this.kernel
        .check()
        .map((v) => /^actor (\d+) called (.+) from a nested interrupt/.exec(v.message))
        .map((match) => (match === null ? '?' : `${match[1]}/${match[2]}`)),
    );
    for (const pair of this.interruptPairs)
      if (!reported.has(pair)) this.fail(`the checker does not report ${pair} at interrupt time`);
  }

  fail(message: string, ctx?: Context): never {
    const refusal = ctx?.lastError;
    const why = refusal === undefined ? '' : ` (refusal: ${refusal.service}: ${refusal.reason})`;
    throw new Error(`${this.phase}: ${this.current}: ${message}${why}`);
  }

  // ---- Int 31h

  private int31(actor: Actor, event: FuzzEvent): void {
    let regs = int31Registers(event, this.known.dpmiPools(actor));
    const undo = event.args[7]!.n;
    if (regs.ax === 0x0601 && event.wildness >= 6 && actor.dpmiLocks.length > 0 && undo % 2 === 0)
      regs = { ...actor.dpmiLocks[undo % actor.dpmiLocks.length]!, ax: 0x0601 };
    const depth = this.interruptDepth(event);
    const linear = (reg16(regs.bx) << 16) | reg16(regs.cx);
    const size = (reg16(regs.si) << 16) | reg16(regs.di);
    if (dpmiMisuse(this.misuseContext(actor), reg16(regs.ax), linear >>> 0, size >>> 0)) {
      this.tally.count(this.tally.misuseSkipped, 'Int 31h: the spare region is kept for the end');
      return;
    }
    this.dpmiCall(actor, regs, depth);
  }

  /** One Int 31h call and its checks: CF and AX as DPMI says, refusals recorded. */
  dpmiCall(actor: Actor, regs: DrawnRegisters, depth: number): void {
    const vm = actor.vm!;
    const fn = reg16(regs.ax);
    const supported = fn in DPMI_ERRORS;
    const key = supported ? `Int 31h ${fn.toString(16).padStart(4, '0')}h` : 'Int 31h (other)';
    const when = depth > 0 ? ' at interrupt time' : '';
    const shown = Object.entries(regs).map(([name, value]) => `${name}=${describeArg(value)}`);
    this.current = `${actor.name} Int 31h ${shown.join(' ')}${when}`;
    this.options.trace?.(`${this.phase}: ${this.current}`);
    vm.lastError = undefined;
    const out = this.guarded(vm, depth, () => vm.int31(regs as unknown as RegistersIn));
    const refusal = refusalOf(vm);
    if (depth > 0) {
      this.verifyRule(Int31, out, vm, INTERRUPT_REASON, 'Int 31h at interrupt time');
      this.interruptPairs.add(`${vm.actor}/Int 31h`);
    } else if (!supported) {
      if (out.cf !== 1 || out.ax !== DPMI_UNSUPPORTED_FUNCTION)
        this.fail(`unsupported function returned CF=${out.cf} AX=${hex(out.ax)}`, vm);
    } else if ((out.cf === 1) !== (refusal !== undefined) || (out.cf !== 0 && out.cf !== 1)) {
      this.fail(`CF=${out.cf} but the refusal is ${JSON.stringify(refusal)}`, vm);
    } else if (out.cf === 1) {
      const allowed = [...DPMI_ERRORS[fn]!, DPMI_RESOURCE_UNAVAILABLE];
      if (!allowed.includes(out.ax)) this.fail(`AX=${hex(out.ax)} is no error of ${key}`, vm);
    }
    this.record(key, refusal !== undefined, out, depth, depth > 0 || !supported ? {} : undefined);
    if (out.cf === 0 && depth === 0) this.known.learnDpmi(actor, fn, out);
    this.afterCall(out.cf === 0);
  }

  // ---- memory through the page tables: a page fault is the only error allowed

  private memoryAccess(actor: Actor, event: FuzzEvent): void {
    const [where, size, how] = [event.args[0]!, event.args[1]!, event.args[2]!];
    const page = pick(this.known.pages, where.n, 0x80000) + (where.n % 9 === 0 ? where.delta : 0);
    const address = ((page & 0xfffff) * 4096 + (where.n % 4096)) >>> 0;
    const length = Math.min(1 + (size.n % 64), 0x100000000 - address);
    this.current = `${actor.name} ${how.n % 2 ? 'write' : 'read'} ${length} at ${hex(address)}`;
    this.options.trace?.(`${this.phase}: ${this.current}`);
    try {
      if (how.n % 2 === 1) this.kernel.writeLinear(actor.vm, address, new Uint8Array(length));
      else this.kernel.readLinear(actor.vm, address, length);
    } catch (error) {
      if (!(error instanceof PageFaultError)) this.fail(`threw ${String(error)}`);
      this.tally.pageFaults += 1;
    }
    this.afterCall(false);
  }

  // ---- VMs, control messages, callbacks

  private lifecycle(event: FuzzEvent): void {
    const { vmMax, actorMax } = this.kernel.layout.options;
    // Each VM takes two actor slots (the VM and the device acting for it); the device's is
    // never given back: stay within actorMax.
    const actorsLeft = actorMax - 2 - this.devices.length - 2 * this.vmCount;
    if (event.args[0]!.n % 2 === 0 && this.vms.length < vmMax - 1 && actorsLeft > 0)
      this.createVm();
    else if (this.vms.length > 2) this.destroyVm(this.vms[event.actor % this.vms.length]!);
  }

  private createVm(): void {
    this.current = 'createVM';
    let vm: VmCore;
    try {
      vm = this.kernel.vm(this.kernel.createVM().handle);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('createVM:')) throw error;
      this.tally.createVmRefused += 1; // no memory for the VM: the API says so by throwing
      this.options.trace?.(`  ${error.message}`);
      return;
    }
    // Its service calls: a device of its own acting for it (a VM calls no VMM service).
    const device = this.kernel.device(`VMDEV${this.vmCount + 1}`, { initOrder: 0x40000 });
    const actor = newActor(`VM${++this.vmCount}`, device, vm);
    this.options.trace?.(`  created ${actor.name} (handle ${hex(vm.handle)}, actor ${vm.actor})`);
    this.vms.push(actor);
    this.checkNow({});
  }

  private destroyVm(actor: Actor): void {
    this.putBack(actor);
    this.current = `destroyVM ${actor.name}`;
    this.options.trace?.(`  ${this.current}`);
    this.kernel.destroyVM(actor.vm!);
    this.vms = this.vms.filter((vm) => vm !== actor);
    remember(this.known.vmHandles, actor.vm!.handle);
    this.checkNow({});
  }

  /** Puts every frame `actor` holds back, through the spare region (unmap, then exchange in). */
  private putBack(actor: Actor): void {
    const spare = this.spare.first;
    if (spare < 0) return;
    while (actor.held.length > 0) {
      const frame = actor.held[0]!;
      if (ptePresent(readPte(this.kernel.layout, 0, spare)))
        this.expect(actor, '_UnmapFreePhysReg', [spare, 1, 0], 1);
      this.expect(actor, '_XchgFreePhysReg', [spare, frame, 0], 0);
    }
  }

  private onControl(device: DeviceContext, message: ControlMessageName, vmHandle: number): boolean {
    this.tally.count(this.tally.phases, `in ${message}`);
    if (vmHandle !== this.kernel.systemVmHandle) remember(this.known.vmHandles, vmHandle);
    const actor = this.devices.find((d) => d.ctx === device)!;
    const event = this.controlTurn++ % 2 === 0 ? this.controlQueue.shift() : undefined;
    if (event !== undefined) {
      const outer = this.current;
      this.execute(event, actor);
      this.current = outer;
    }
    return false;
  }

  /** A free-physical-region callback of `actor`: Request 1 unmaps, Request 0 maps its pages. */
  private callbackOf(actor: Actor): (request: number, count: number) => boolean {
    return (request, count) => {
      this.tally.count(this.tally.phases, `callback Request ${request}`);
      const own = this.known.regions.filter(
        (r) => r.creator === actor && r.first !== this.spare.first,
      );
      const region = own[this.callbackTurn++ % Math.max(1, own.length)];
      if (region === undefined) return false;
      const l = this.kernel.layout;
      const pages = Array.from({ length: region.count }, (_, i) => region.first + i);
      const wanted = pages.filter((page) => ptePresent(readPte(l, 0, page)) === (request === 1));
      const name = request === 1 ? '_UnmapFreePhysReg' : '_MapFreePhysReg';
      for (const page of wanted.slice(0, Math.min(Math.max(count, 1), 2)))
        this.attempt(actor, SERVICES.get(name)!, [page, 1, 0], 0);
      return this.callbackTurn % 3 === 0; // carry now and then: the chain stops there
    };
  }
}
