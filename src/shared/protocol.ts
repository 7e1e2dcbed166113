/**
 * Every crossing between threads, in one file (README, "Architecture"): the messages of the
 * actor worker, the stress worker's API, the input and output of the hunt and explore pool
 * tasks, the raw TERMINATE_ME message, and the handshakes on words of the shared buffer, each
 * with its writer, its reader and what wakes whom (HANDSHAKES), and the functions both sides
 * call. Service calls never cross: they run in the caller's thread, on the shared buffer; the
 * lock words' own protocol is lock.ts. The task and worker types above this layer are named
 * here with type-only imports: nothing of src/main or src/workers is loaded by this file.
 */
import { actorAdd, actorLoad, actorSlot, actorStore } from './actor_record.js';
import type { ControlMessageName } from './constants.js';
import { AC, H, type Layout } from './layout.js';
import { futexWait, futexWaitAsync, futexWake } from './lock.js';
import type { TraceEvent } from './trace.js';

/**
 * Where a worker finds the scenario: a module to import, or validated JSON; and the device
 * and VM counts asked for on the command line (the lists are cut or repeated to fit).
 */
export type ScenarioSource = (
  { kind: 'module'; path: string } | { kind: 'json'; path: string; json: unknown }
) & { devices?: number; vms?: number };

/** Which actor of the scenario a worker runs. */
export type ActorRole =
  { kind: 'device'; index: number } | { kind: 'vm'; index: number; handle: number };

export const FaultKinds = ['throw', 'exit', 'terminate', 'hang', 'invert'] as const;
export type FaultKind = (typeof FaultKinds)[number];

/** An injected fault (src/workers/faults.ts): what, after how many run-phase acquisitions. */
export interface FaultPlan {
  kind: FaultKind;
  acquisitions: number;
}

/** What the coordinator hands a worker at start (workerData). */
export interface ActorStartup {
  sab: SharedArrayBuffer;
  scenario: ScenarioSource;
  role: ActorRole;
  seed: number;
  /** Bound on a Request 1 wait for callbacks in other workers. */
  pressureWaitMs: number;
  /** Trace every service call: wall-clock µs since `traceOrigin` (performance.timeOrigin ms). */
  trace?: { origin: number; tid: number };
  /** Record the ticket of every task-time service call of the run phase. */
  record?: boolean;
  /** A fault to inject in this actor's run phase. */
  fault?: FaultPlan;
}

export interface ActorViolation {
  actor: string;
  message: string;
  page?: number;
  frame?: number;
  /** The scenario's name for it (violation(message, { kind })); `data` when none. */
  kind?: string;
}

/** What an actor reports at the end, or when asked. */
export interface ActorReport {
  name: string;
  actor: number;
  calls: number;
  byService: Record<string, number>;
  failures: Record<string, number>;
  interruptsTaken: number;
  callbacksRun: number;
  steps: number;
  violations: ActorViolation[];
  /** Chrome trace events of this actor when the run is traced. */
  trace?: TraceEvent[];
  /** Tickets of this actor's run-phase calls when the run is recorded. */
  tickets?: number[];
}

/** An error that crossed from a worker: enough to name where it happened. */
export interface ActorFailure {
  actor: string;
  phase: string;
  lastService: string;
  message: string;
  stack: string;
  kind: 'threw' | 'exited' | 'hung' | 'crashed' | 'terminated' | 'deadlock';
}

/** The comlink API of an actor worker. */
export interface ActorWorkerApi {
  /**
   * Creates the actor's context and program; its actor id and name. A VM's worker is spawned
   * before its VM exists: `vmHandle` names the VM once it does (else the role's handle).
   */
  start(vmHandle?: number): Promise<{
    actor: number;
    name: string;
    initOrder: number;
    hasInterrupt: boolean;
    hasStep: boolean;
  }>;
  control(message: ControlMessageName, vmHandle: number, edx: number): Promise<boolean>;
  /** Runs step() until `calls` service calls were made or the stop word is set. */
  run(calls: number): Promise<ActorReport>;
  /** A free-physical-region callback registered in this worker; resolves to carry. */
  callback(id: number, request: number, pageCount: number): Promise<boolean>;
  finish(): Promise<ActorReport>;
}

export const CONTROL_TIMEOUT_MS = 5_000;

/** The message a worker posts (parentPort, outside comlink) to have its host terminate() it. */
export const TERMINATE_ME = 'vmmsim-fault-terminate';

/** A stress workload's plan (src/workers/stress_workload.ts runs it). */
export interface StressPlan {
  name: string;
  seed: number;
  /** Service calls to make (the workload stops at the first operation past it). */
  calls: number;
  /** The region this device works in. */
  regionFirstPage: number;
  regionPageCount: number;
  /** Other devices work in the same region: data is checked only at the end. */
  shared: boolean;
  /** Devices working in the region (bounds how full _MapFreePhysReg may make it). */
  sharers: number;
}

/** What a stress workload did. */
export interface StressResult {
  name: string;
  calls: number;
  byService: Record<string, number>;
  failures: Record<string, number>;
  dataChecks: number;
  errors: string[];
  elapsedMs: number;
}

/** A device's _XchgFreePhysReg chains (src/workers/chain_workload.ts runs them). */
export interface ChainPlan {
  name: string;
  /** The window of region pages this device moves frames in. */
  windowFirstPage: number;
  windowPageCount: number;
  /** Seed of this device's page choices (ChainCursor); devices sharing a window differ. */
  seed: number;
  /** Stop after the chain that reaches this many calls (a warm-up); 0: only the stop word. */
  callsMax: number;
}

/** What a device's chains did. */
export interface ChainResult {
  name: string;
  actor: number;
  /** _XchgFreePhysReg calls made in this run. */
  calls: number;
  chains: number;
  /** Calls that returned 0FFFFFFFFh: none on a sound run. */
  refusals: number;
  firstRefusal: string;
  elapsedMs: number;
}

/** The comlink API of the stress worker (src/workers/stress_worker.ts). */
export interface StressWorkerApi {
  /** One stress workload as writer `writer` (stress_workload.ts). */
  run(plan: StressPlan, writer: number): StressResult;
  /** _XchgFreePhysReg chains until the stop word is set (the benchmark's timed window). */
  chains(plan: ChainPlan): ChainResult;
  /** Integer work on nothing shared until the stop word is set or `iterationsMax` is done. */
  spin(iterationsMax: number): { iterations: number; elapsedMs: number };
}

/**
 * A task of the hunt pool (main/controlled/hunt_task.ts): seeds of one scenario. Controlled
 * mode's own types fill in the payload (`Options`, `Found`), so this layer names none of them.
 */
export interface HuntTask<Options> {
  source: ScenarioSource;
  seeds: number[];
  scheduler: 'pct' | 'random';
  depth: number;
  options: Options;
}

/** What a hunt task returns for each of its seeds. */
export interface HuntRunResult<Found> {
  seed: number;
  steps: number;
  /** Only for failing runs: enough to replay them. */
  found?: Found;
}

/** A task of the explore pool (main/controlled/explore_task.ts): subtrees of one scenario. */
export interface ExploreTask<Options, Item> {
  source: ScenarioSource;
  options: Options;
  items: Item[];
  /** States the first run claimed (their subtrees are other chunks' work). */
  claims: [string, number][];
}

/** A handshake on words of the shared buffer: who writes, who reads, what wakes whom. */
export interface Handshake {
  /** The words, as layout.ts names them. */
  words: readonly string[];
  writer: string;
  reader: string;
  wake: string;
}

/** The handshakes on buffer words; each one's functions follow, in this order. */
export const HANDSHAKES = {
  stop: {
    words: ['H.stop'],
    writer: 'the coordinator, the bench (setStop)',
    reader: 'every run loop of a worker, between steps (stopRequested)',
    wake: 'none: polled',
  },
  phase: {
    words: ['H.phase'],
    writer: 'the kernel that drives the phases (publishPhase)',
    reader: 'services in every thread: init-only rules (systemPhase)',
    wake: 'none: read on each call',
  },
  ticket: {
    words: ['H.ticket'],
    writer: 'every actor, at each task-time call of a recorded run (takeTicket)',
    reader: 'the same: the tickets order the calls across threads',
    wake: 'none',
  },
  mail: {
    words: ['AC.mail'],
    writer: 'the worker host, before each control-plane call (postMail)',
    reader: "the actor worker's run loop, which yields to take it (mailSent)",
    wake: 'none: polled between steps',
  },
  interrupt: {
    words: ['AC.pendingIrq'],
    writer: 'the coordinator, every interruptEveryMs (raiseIrq)',
    reader: 'the device worker at its next safe point (takeIrq)',
    wake: 'none: polled at safe points',
  },
  freeListGrew: {
    words: ['H.callbackPending'],
    writer: 'whoever grew the free list outside a callback (noteFreeListGrew)',
    reader: "the coordinator's poll: one Request 0 chain per change (freeListNotices)",
    wake: 'none: polled every 2 ms',
  },
  pressure: {
    words: ['AC.pressure', 'AC.pressureSeq', 'H.pressureRequests'],
    writer:
      'a worker short of pages posts a Request 1 wait (requestPages); the coordinator ' +
      'answers it when the chain has run (pressureServed)',
    reader: 'the coordinator (pressureWanted), then the waiting worker (requestPages)',
    wake:
      'the worker wakes the coordinator on H.pressureRequests (awaitPressureRequests), and so ' +
      'does the end of the run phase (wakePressureServer); ' +
      'the coordinator wakes the worker on its AC.pressureSeq',
  },
  fault: {
    words: ['AC.faultFired', 'AC.faultAtMs', 'H.faultCountdown'],
    writer:
      'the coordinator arms the countdown (armFaultCountdown); the actor whose acquisition ' +
      'fires the fault stamps it (markFaultFired), or re-arms it (refireFault)',
    reader: "the coordinator's diagnosis (faultFiredAt); every armed Locker (the countdown)",
    wake: 'none: the diagnosis reads them after a failure',
  },
} as const satisfies Record<string, Handshake>;

// ---- stop

/** Sets (or, for the bench's next window, clears) the word every run loop polls. */
export function setStop(l: Layout, stop: boolean): void {
  Atomics.store(l.header, H.stop, stop ? 1 : 0);
}

/** Whether the run was asked to stop. */
export const stopRequested = (l: Layout): boolean => Atomics.load(l.header, H.stop) !== 0;

// ---- phase

/** Publishes the system phase (a ControlMessage value; -1 before the first). */
export function publishPhase(l: Layout, phase: number): void {
  Atomics.store(l.header, H.phase, phase);
}

/** The system phase: the ControlMessage value of the last phase message, -1 before any. */
export const systemPhase = (l: Layout): number => Atomics.load(l.header, H.phase);

// ---- ticket

/** The next recording ticket, machine-wide. */
export const takeTicket = (l: Layout): number => Atomics.add(l.header, H.ticket, 1);

// ---- mail

/** Tells `actor`'s worker that a control-plane call is on its way. */
export function postMail(l: Layout, actor: number): void {
  actorAdd(l, actor, AC.mail, 1);
}

/** The control-plane calls sent to `actor`'s worker so far. */
export const mailSent = (l: Layout, actor: number): number => actorLoad(l, actor, AC.mail);

// ---- interrupt

/** Raises one simulated interrupt for the device `actor`. */
export function raiseIrq(l: Layout, actor: number): void {
  actorAdd(l, actor, AC.pendingIrq, 1);
}

/** Takes one pending interrupt of `actor`: false when none is pending. */
export function takeIrq(l: Layout, actor: number): boolean {
  if (actorLoad(l, actor, AC.pendingIrq) <= 0) return false;
  actorAdd(l, actor, AC.pendingIrq, -1);
  return true;
}

// ---- Request 0: the free list grew

/** Notes that the free list grew (a Request 0 notice for the coordinator). */
export function noteFreeListGrew(l: Layout): void {
  Atomics.add(l.header, H.callbackPending, 1);
}

/** The notices so far: a change since the last poll asks for one Request 0 chain. */
export const freeListNotices = (l: Layout): number => Atomics.load(l.header, H.callbackPending);

// ---- Request 1: a worker waits for pages

/**
 * Posts a Request 1 wait for `count` pages in `actor`'s slot, wakes the coordinator and
 * sleeps until it answers or `waitMs` passes; the slot is empty again when it returns.
 * Worker threads only (a futex wait).
 */
export function requestPages(l: Layout, actor: number, count: number, waitMs: number): void {
  const seq = actorLoad(l, actor, AC.pressureSeq);
  actorStore(l, actor, AC.pressure, count);
  Atomics.add(l.header, H.pressureRequests, 1);
  futexWake(l.header, H.pressureRequests);
  const deadline = performance.now() + waitMs;
  const seqSlot = actorSlot(l, actor, AC.pressureSeq);
  while (actorLoad(l, actor, AC.pressureSeq) === seq) {
    const left = deadline - performance.now();
    if (left <= 0) break;
    futexWait(l.actors, seqSlot, seq, left);
  }
  actorStore(l, actor, AC.pressure, 0);
}

/** The Request 1 waits posted so far (the coordinator sleeps on this count). */
export const pressureRequests = (l: Layout): number => Atomics.load(l.header, H.pressureRequests);

/** The coordinator's sleep until a wait is posted after `seen`, or `timeoutMs` passes. */
export const awaitPressureRequests = (l: Layout, seen: number, timeoutMs: number): Promise<void> =>
  futexWaitAsync(l.header, H.pressureRequests, seen, timeoutMs);

/** Ends the coordinator's sleep at once (the run phase is over: nothing more to serve). */
export const wakePressureServer = (l: Layout): void => futexWake(l.header, H.pressureRequests);

/** The pages `actor` waits for (0: it does not wait). */
export const pressureWanted = (l: Layout, actor: number): number =>
  actorLoad(l, actor, AC.pressure);

/** Tells `actor` that the chain for its wait has run, and wakes it. */
export function pressureServed(l: Layout, actor: number): void {
  actorAdd(l, actor, AC.pressureSeq, 1);
  futexWake(l.actors, actorSlot(l, actor, AC.pressureSeq));
}

// ---- fault injection

/** Wall-clock milliseconds modulo 2^30, the same on every thread (see faultAgeMs). */
export const wallMs = (): number =>
  Math.round(performance.timeOrigin + performance.now()) % 2 ** 30;

/** Milliseconds since the fault fired, from its stamp. */
export const faultAgeMs = (stamp: number): number => (wallMs() - stamp + 2 ** 30) % 2 ** 30;

/** Arms the machine-wide countdown: the fault fires at the `acquisitions`-th acquisition. */
export function armFaultCountdown(l: Layout, acquisitions: number): void {
  Atomics.store(l.header, H.faultCountdown, acquisitions);
}

/** Stamps the fault as fired in `actor`, now. */
export function markFaultFired(l: Layout, actor: number): void {
  actorStore(l, actor, AC.faultAtMs, wallMs());
  actorStore(l, actor, AC.faultFired, 1);
}

/** Takes the fault back in `actor` and re-arms it for the next acquisition, machine-wide. */
export function refireFault(l: Layout, actor: number): void {
  actorStore(l, actor, AC.faultFired, 0);
  armFaultCountdown(l, 1);
}

/** The stamp (wallMs) of the fault fired in `actor`, or -1 when none fired there. */
export function faultFiredAt(l: Layout, actor: number): number {
  if (actorLoad(l, actor, AC.faultFired) === 0) return -1;
  return actorLoad(l, actor, AC.faultAtMs);
}
