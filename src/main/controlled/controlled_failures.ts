/**
 * How a controlled run names what went wrong: a checker violation, a violation a scenario
 * reported, or a throw (an assertion, a replay divergence, anything else). Pure functions:
 * the run keeps the first failure and where it happened.
 */
import type { Kernel } from '../../shared/kernel.js';
import type { ActorViolation } from '../../shared/protocol.js';
import type { ControlledFailure, FailureKind } from './controlled_types.js';
import { ReplayDivergence } from './schedulers/scheduler.js';

/** Where a failure found now happened, when not in the run phase. */
export type FailurePhase = { phase?: 'wind-down' | 'finish' };

/** The first violation a scenario reported, as a failure: `[kind] actor: message`. */
export function dataFailure(
  violations: readonly ActorViolation[],
  step: number,
  phase: FailurePhase,
): ControlledFailure | undefined {
  const d = violations[0];
  if (d === undefined) return undefined;
  const label = d.kind !== undefined && /^[\w-]{1,40}$/.test(d.kind) ? d.kind : 'data';
  return {
    kind: 'data',
    message: `[${label}] ${d.actor}: ${d.message}`,
    step,
    actor: d.actor,
    ...phase,
  };
}

/** The checker's first violation now (`[kind] message`), or else the scenario's first. */
export function checkFailure(
  kernel: Kernel,
  options: { final?: boolean },
  violations: readonly ActorViolation[],
  step: number,
  phase: FailurePhase,
): ControlledFailure | undefined {
  const v = kernel.check(options)[0];
  if (v === undefined) return dataFailure(violations, step, phase);
  return { kind: 'violation', message: `[${v.kind}] ${v.message}`, step, ...phase };
}

/** A throw as a failure: a divergence, an assertion, or anything else (with its stack). */
export function errorFailure(
  error: unknown,
  step: number,
  actor: string | undefined,
  phase: FailurePhase,
): ControlledFailure {
  const e = error as Error;
  const kind: FailureKind =
    e instanceof ReplayDivergence
      ? 'divergence'
      : e?.name === 'AssertionError'
        ? 'assertion'
        : 'threw';
  const stack = kind === 'threw' && typeof e?.stack === 'string' ? { stack: e.stack } : {};
  return {
    kind,
    message: e?.message ?? String(error),
    step,
    ...(actor === undefined ? {} : { actor }),
    ...phase,
    ...stack,
  };
}
