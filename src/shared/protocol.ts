/**
 * The control plane between the coordinator and its actor workers: everything that crosses
 * a thread boundary is declared here. Service calls never cross it: they run in the worker,
 * on the shared buffer.
 */
import type { ControlMessageName } from './constants.js';
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
