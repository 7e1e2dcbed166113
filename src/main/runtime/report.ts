/**
 * What a run on real threads reports (RunOptions in, RunReport out) and how the report is
 * put together from the coordinator's parts. Types and one pure function: no workers, no
 * waiting. The coordinator and the diagnosis both import it (neither imports the other).
 */
import type { Violation } from '../../shared/checker.js';
import type { MachineOptions } from '../../shared/config.js';
import type { Kernel } from '../../shared/kernel.js';
import { lockStats } from '../../shared/lock.js';
import type {
  ActorFailure,
  ActorReport,
  ActorViolation,
  FaultPlan,
  ScenarioSource,
} from '../../shared/protocol.js';
import type { ScenarioDefinition } from '../../shared/scenario/scenario.js';
import type { Trace } from '../../shared/trace.js';
import type { WaitForGraph } from './wait_for.js';

export interface RunOptions {
  source: ScenarioSource;
  scenario: ScenarioDefinition;
  seed: number;
  machine: Partial<MachineOptions>;
  /** Service calls in all during the run phase. */
  calls: number;
  /** Wall-clock bound on the run phase. */
  seconds: number;
  interruptEveryMs: number;
  /** An actor that makes no service call for this long while it should is hung. */
  hangMs: number;
  onProgress?: (calls: number, total: number) => void;
  /** Collects a Chrome trace of the run: every service call of every actor. */
  trace?: Trace;
  /** Keep the order in which run-phase calls took effect (report.recorded). */
  record?: boolean;
  /** Aborting ends the run phase at once; finish, teardown and the checker still run. */
  signal?: AbortSignal;
  /** A fault to inject at the plan's n-th lock acquisition of the run phase, machine-wide. */
  fault?: FaultPlan;
}

/** A lock whose holder died holding it, and where that holder was. */
export interface OwnerDeadLock {
  lock: string;
  lockId: number;
  actor: string;
  service: string;
  phase: string;
  page?: string;
}

export interface PhaseMark {
  message: string;
  atMs: number;
}

export interface RunReport {
  scenario: string;
  seed: number;
  machine: MachineOptions;
  phases: PhaseMark[];
  actors: ActorReport[];
  calls: number;
  runMs: number;
  opsPerSecond: number;
  byService: Record<string, number>;
  failures: Record<string, number>;
  interruptsTaken: number;
  callbacks: { request0: number; request1: number; calls: number };
  locks: ReturnType<typeof lockStats>;
  /** actorName: "device NAME" or "VM NAME". */
  violations: (Violation & { actorName?: string })[];
  actorViolations: ActorViolation[];
  droppedDevices: string[];
  refusedVms: string[];
  systemExit: boolean;
  failure?: ActorFailure;
  /** The first 256 words the scenario's actors share (their agreements, for debugging). */
  sharedWords: number[];
  /** With record: the actor (controlled-mode index) of each run-phase call, in ticket order. */
  recorded?: number[];
  /** The run phase was cut short by the signal (SIGINT or SIGTERM on the command line). */
  interrupted: boolean;
  /** Who held and who waited for which lock when the run failed or deadlocked. */
  waitFor?: WaitForGraph;
  /**
   * Locks marked owner-dead after their holder died, and whether the checker found the state
   * they protect consistent (no violation besides the held locks themselves).
   */
  ownerDead?: { locks: OwnerDeadLock[]; consistent: boolean; detectedMs: number };
  /** The injected fault, in whom, and whether it fired. */
  fault?: FaultPlan & { actor: string; fired: boolean };
}

/** What buildReport gathers, from the coordinator, its router and its diagnosis. */
export interface ReportParts {
  scenario: string;
  seed: number;
  kernel: Kernel;
  phases: PhaseMark[];
  actors: ActorReport[];
  runMs: number;
  systemExit: boolean;
  failure: ActorFailure | undefined;
  /** Actor slot → "device NAME" or "VM NAME". */
  names: Map<number, string>;
  droppedDevices: string[];
  refusedVms: string[];
  callbacks: RunReport['callbacks'];
  interrupted: boolean;
  recorded: number[] | undefined;
  /** The diagnosis's part, given the checker's violations. */
  diagnosis(violations: Violation[]): Partial<RunReport>;
}

/** Sums `key` over the actors' reports, service by service. */
function sum(actors: ActorReport[], key: 'byService' | 'failures'): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of actors) for (const [k, v] of Object.entries(a[key])) out[k] = (out[k] ?? 0) + v;
  return out;
}

/** The run's report: the actors' counts summed, the checker's verdict named, the diagnosis. */
export function buildReport(p: ReportParts): RunReport {
  const { actors, failure, runMs } = p;
  const calls = actors.reduce((n, a) => n + a.calls, 0);
  const violations = failure === undefined ? p.kernel.check({ final: true }) : p.kernel.check();
  return {
    scenario: p.scenario,
    seed: p.seed,
    machine: p.kernel.layout.options,
    phases: p.phases,
    actors,
    calls,
    runMs,
    opsPerSecond: runMs > 0 ? calls / (runMs / 1000) : 0,
    byService: sum(actors, 'byService'),
    failures: sum(actors, 'failures'),
    interruptsTaken: actors.reduce((n, a) => n + a.interruptsTaken, 0),
    callbacks: p.callbacks,
    locks: lockStats(p.kernel.layout),
    violations: violations.map((v) =>
      v.actor === undefined ? v : { ...v, actorName: p.names.get(v.actor) ?? `actor ${v.actor}` },
    ),
    actorViolations: actors.flatMap((a) => a.violations),
    droppedDevices: p.droppedDevices,
    refusedVms: p.refusedVms,
    sharedWords: Array.from(p.kernel.layout.scenarioWords.subarray(0, 256)),
    interrupted: p.interrupted,
    ...(p.recorded === undefined ? {} : { recorded: p.recorded }),
    ...p.diagnosis(violations),
    systemExit: p.systemExit,
    ...(failure === undefined ? {} : { failure }),
  };
}
