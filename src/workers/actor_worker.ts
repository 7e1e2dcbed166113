/**
 * Worker entry for one device or one VM of a scenario. It attaches to the machine, builds the
 * actor's program from the scenario, and answers the coordinator over comlink: control
 * messages, the run, free-physical-region callbacks, the finish. Service calls run here, on
 * the shared buffer. Interrupts arrive through a word of the actor's slot and are delivered
 * at the next safe point (the next service call).
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import type { ControlMessageName } from '../shared/constants.js';
import { attachKernel, type Kernel } from '../shared/kernel.js';
import {
  type ActorReport,
  type ActorStartup,
  type ActorViolation,
  type ActorWorkerApi,
  mailSent,
  stopRequested,
  takeIrq,
} from '../shared/protocol.js';
import {
  type ActorHost,
  type DeviceActor,
  type DeviceProgram,
  makeActor,
  type VmActor,
  type VmProgram,
} from '../shared/scenario/scenario.js';
import type { DeviceContext, VmCore } from '../shared/services/index.js';
import { nodeEndpoint } from './endpoint.js';
import { armFault } from './faults.js';
import { loadScenario } from '../shared/scenario/load.js';
import { RemoteCallbacks } from './remote_callbacks.js';
import { Trace } from '../shared/trace.js';
import { type Prng, stepSeed } from '../shared/prng.js';

const startup = workerData as ActorStartup;
const kernel: Kernel = attachKernel(startup.sab, { hostSlot: false });
let ctx: DeviceContext | VmCore | undefined;
let program: DeviceProgram & VmProgram = {};
let remote: RemoteCallbacks | undefined;
let interruptsTaken = 0;
let callbacksRun = 0;
let steps = 0;
/** The actor's generator: reseeded for each step, as in controlled mode (prng.stepSeed). */
let random: Prng | undefined;
const violations: ActorViolation[] = [];
const trace = startup.trace === undefined ? undefined : new Trace(200_000);
const tid = startup.trace?.tid ?? 0;
/** Microseconds since the coordinator's origin, on the wall clock every thread shares. */
const now = (): number =>
  (performance.timeOrigin + performance.now() - (startup.trace?.origin ?? 0)) * 1000;

const host: ActorHost = {
  async safePoint(): Promise<void> {
    if (ctx === undefined || ctx.reenterCount !== 0 || program.interrupt === undefined) return;
    while (takeIrq(kernel.layout, ctx.actor)) {
      interruptsTaken += 1;
      const handler = program.interrupt.bind(program);
      const from = now();
      await ctx.atInterrupt(async () => handler(0));
      trace?.slice(tid, 'interrupt', from, Math.max(now() - from, 1));
    }
  },
  violation(actor, message, details): void {
    if (violations.length < 100) violations.push({ actor, message, ...details });
    trace?.instant(tid, `violation: ${message}`, now(), { ...details }, true);
  },
  ...(trace === undefined
    ? {}
    : {
        onCall(service: string, args: unknown[], result: unknown): void {
          const at = now();
          trace.call(tid, service, at, 1, args, result);
        },
      }),
};

/**
 * The scenario, loading from the moment the worker starts: a VM's worker is spawned with the
 * devices' and waits for its VM to be created, so by then its scenario is loaded. A failure
 * is reported by start(), not as an unhandled rejection.
 */
const scenarioLoading = loadScenario(startup.scenario);
scenarioLoading.catch(() => undefined);

async function start(vmHandle?: number): ReturnType<ActorWorkerApi['start']> {
  const scenario = await scenarioLoading;
  const role = startup.role;
  const definition =
    role.kind === 'device' ? scenario.devices[role.index] : scenario.vms[role.index];
  if (definition === undefined) throw new Error(`scenario has no ${role.kind} ${role.index}`);
  const extras = {
    seed: startup.seed,
    shared: kernel.layout.scenarioWords,
    options: definition.options ?? {},
  };
  if (role.kind === 'device' && definition.kind === 'device') {
    ctx = kernel.device(definition.name, { initOrder: definition.initOrder });
    const actor = makeActor<DeviceActor>(kernel, ctx, host, extras);
    random = actor.random;
    program = definition.create(actor);
  } else if (role.kind === 'vm' && definition.kind === 'vm') {
    ctx = kernel.vm(vmHandle ?? role.handle, definition.name);
    const actor = makeActor<VmActor>(kernel, ctx, host, extras);
    random = actor.random;
    program = definition.create(actor);
  }
  if (ctx === undefined) throw new Error(`${role.kind} ${role.index} is not a ${role.kind}`);
  remote = new RemoteCallbacks(kernel.layout, ctx.actor, startup.pressureWaitMs);
  kernel.setCallbackDispatcher(remote);
  const initOrder = definition.kind === 'device' ? definition.initOrder : 0;
  return {
    actor: ctx.actor,
    name: ctx.name,
    initOrder,
    hasInterrupt: program.interrupt !== undefined,
    hasStep: program.step !== undefined,
  };
}

function report(): ActorReport {
  const c = ctx!;
  const byService: Record<string, number> = {};
  const failures: Record<string, number> = {};
  for (const [service, stats] of c.stats) {
    byService[service] = stats.calls;
    for (const [reason, count] of stats.failures) failures[`${service}: ${reason}`] = count;
  }
  return {
    name: c.name,
    actor: c.actor,
    calls: c.callTotal,
    byService,
    failures,
    interruptsTaken,
    callbacksRun,
    steps,
    violations,
    ...(trace === undefined ? {} : { trace: trace.events }),
  };
}

/** Lets the event loop run: comlink messages (callbacks) are handled between steps. */
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Control-plane calls this worker has taken since start (the host counts them: postMail). */
let callsTaken = 0;
/** The longest a running actor goes without a turn of its event loop, whatever the mail says. */
const YIELD_EVERY_MS = 10;

/**
 * Whether the run loop should yield now: a call was sent that this worker has not taken yet
 * (a free-physical-region callback, most often), or YIELD_EVERY_MS passed. A yield costs a
 * turn of the event loop, several microseconds: once per step, it was most of a step's cost.
 */
function mailWaiting(c: DeviceContext | VmCore, yieldAt: number): boolean {
  const sent = mailSent(kernel.layout, c.actor);
  return sent !== callsTaken || performance.now() >= yieldAt;
}

const api: ActorWorkerApi = {
  start,
  async control(message: ControlMessageName, vmHandle: number, edx: number): Promise<boolean> {
    callsTaken += 1;
    const carry = await program.control?.(message, vmHandle, edx);
    return carry === true;
  },
  async run(calls: number): Promise<ActorReport> {
    callsTaken += 1;
    const c = ctx!;
    if (startup.record === true) c.recording = [];
    if (startup.fault !== undefined) armFault(c, startup.fault);
    let yieldAt = performance.now() + YIELD_EVERY_MS;
    while (c.callTotal < calls && !stopRequested(kernel.layout)) {
      await host.safePoint();
      random?.reseed(stepSeed(startup.seed, steps + 1));
      await program.step?.();
      steps += 1;
      if (mailWaiting(c, yieldAt)) {
        await yieldToEventLoop();
        yieldAt = performance.now() + YIELD_EVERY_MS;
      }
    }
    const tickets = c.recording;
    c.recording = undefined;
    return { ...report(), ...(tickets === undefined ? {} : { tickets }) };
  },
  async callback(id: number, request: number, pageCount: number): Promise<boolean> {
    callsTaken += 1;
    callbacksRun += 1;
    remote!.inCallback += 1;
    const from = now();
    // Callback calls are not decisions of a controlled schedule (callbacks run between
    // steps there), so they are left out of a recording.
    const recording = ctx!.recording;
    ctx!.recording = undefined;
    try {
      return await kernel.runCallback(id, request, pageCount);
    } finally {
      ctx!.recording = recording;
      remote!.inCallback -= 1;
      trace?.slice(tid, `callback Request ${request}`, from, Math.max(now() - from, 1), {
        pageCount,
      });
    }
  },
  async finish(): Promise<ActorReport> {
    callsTaken += 1;
    await program.finish?.();
    return report();
  },
};

Comlink.expose(api, nodeEndpoint(parentPort!));
