/**
 * The types of a controlled run: its options, result and failure, the state shown by
 * replay --until, what explore observes, an actor of the run, and the run's trace hash.
 * Types and one small class; the run itself is controlled.ts.
 */
import type { Context } from '../../shared/context.js';
import type { Kernel } from '../../shared/kernel.js';
import type {
  DeviceActor,
  DeviceProgram,
  VmActor,
  VmProgram,
} from '../../shared/scenario/scenario.js';
import type { Trace } from '../../shared/trace.js';
import type { Footprint } from './footprint.js';

export interface ControlledOptions {
  seed: number;
  /** Scheduling decisions at most in the run phase. */
  stepsMax: number;
  /** Run the full checker every this many steps (1: after every step; 0: only at the end). */
  checkEvery: number;
  /** Chance, in 1/1024 per step, that the scheduler raises an interrupt in a device. */
  interruptPer1024: number;
  /** Collects Chrome trace events when given (the virtual clock: 1 µs per call). */
  trace?: Trace;
  /** Told of every step with its footprint (explore); footprints are recorded only then. */
  observer?: StepObserver;
  /** Stops the run before decision `step` and shows its state (replay --until). */
  pauseAt?: { step: number; onPause(view: ControlledView): void };
}

/** The state of a controlled run between two steps, for replay --until. */
export interface ControlledView {
  step: number;
  kernel: Kernel;
  actors: {
    name: string;
    index: number;
    ctx: Context;
    pending: { service: string; args: readonly unknown[] } | undefined;
    done: boolean;
  }[];
  /** Linear pages named by the calls made so far (outside the per-VM V86 region). */
  touched: number[];
}

/** What explore watches: each step's actor and footprint, after the step. */
export interface StepObserver {
  onStep(actor: number, footprint: Footprint, kernel: Kernel): void;
}

export type FailureKind = 'violation' | 'data' | 'assertion' | 'threw' | 'hung' | 'divergence';

export interface ControlledFailure {
  kind: FailureKind;
  message: string;
  step: number;
  actor?: string;
  /** Where it happened: in the wind-down (after stepsMax, actors finishing their steps) or
   * in finish() and the teardown after it; absent for the run phase and boot. */
  phase?: 'wind-down' | 'finish';
  /** The stack of a throw. */
  stack?: string;
}

export interface ControlledResult {
  decisions: number[];
  steps: number;
  traceHash: string;
  actorNames: string[];
  failure?: ControlledFailure;
  /**
   * Stopped early without a failure: explore reached a state equivalent to one it has
   * explored already, or replay --until reached its step.
   */
  pruned?: boolean;
}

/** One device or VM of a controlled run: a coroutine on this thread. */
export interface Actor {
  name: string;
  ctx: Context;
  program: DeviceProgram & VmProgram;
  isDevice: boolean;
  parked: (() => void) | undefined;
  done: boolean;
  pendingIrq: number;
  /** Its index in the run's actors (the number decisions use). */
  index: number;
  /** The scenario's view of it; its generator is reseeded for each step. */
  api: DeviceActor | VmActor;
  seed: number;
  /** Steps started. */
  stepsStarted: number;
  /** The call it waits to make at its scheduling point (none: between steps). */
  pendingService?: string | undefined;
  pendingArgs?: readonly unknown[] | undefined;
}

/** FNV-1a over 32-bit words: the trace hash of a run. */
export class TraceHash {
  private h = 0x811c9dc5;
  add(value: number): void {
    for (let shift = 0; shift < 32; shift += 8) {
      this.h = Math.imul(this.h ^ ((value >>> shift) & 0xff), 0x01000193) >>> 0;
    }
  }
  get hex(): string {
    return this.h.toString(16).padStart(8, '0');
  }
}
