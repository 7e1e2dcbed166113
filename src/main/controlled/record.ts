/**
 * The bridge from real threads to controlled mode (`vmmsim run --record <file>`): the order
 * in which run-phase service calls took effect becomes a schedule of decisions; when the run
 * broke an invariant, that schedule is replayed under the controlled scheduler and, if it
 * fails there too, written as a replay file. Interrupt and callback timing, and what actors
 * do between calls, are not part of the schedule: when the failure does not carry over, the
 * run's own counts say which of these it can have been.
 */
import type { ScenarioSource } from '../../shared/protocol.js';
import type { ScenarioDefinition } from '../../shared/scenario/scenario.js';
import { type ControlledResult, runControlled } from './controlled.js';
import type { RunReport } from '../runtime/coordinator.js';
import { replayHead, writeReplayFile } from './replay_file.js';
import { ReplayScheduler } from './schedulers/replay.js';

export interface Bridged {
  result: ControlledResult;
  written: boolean;
  /** Why the failure did not carry over (when it did not): the true reason, from the run. */
  reason?: string;
}

/** Why a recorded failure did not happen again under control, from what the run saw. */
function whyNot(report: RunReport, result: ControlledResult): string {
  const f = result.failure;
  if (f?.kind === 'divergence') {
    return `the recorded order could not be followed under control (${f.message})`;
  }
  const other = f === undefined ? '' : ` (under control: ${f.kind}: ${f.message})`;
  const interrupts = report.interruptsTaken;
  const callbacks = report.callbacks.calls;
  if (interrupts > 0 || callbacks > 0) {
    return (
      `the run took ${interrupts} interrupt(s) and ${callbacks} callback call(s), whose ` +
      `timing a schedule does not keep${other}`
    );
  }
  return (
    `the run took no interrupts and no callbacks; what the order of calls does not keep is ` +
    `the actors' own reads and writes of shared words and physical memory between calls, ` +
    `and which of two calls that started together took effect first${other}`
  );
}

/** Replays a recorded run under control; writes `path` when the failure carries over. */
export async function bridgeRecorded(
  source: ScenarioSource,
  scenario: ScenarioDefinition,
  report: RunReport,
  path: string,
): Promise<Bridged | undefined> {
  const decisions = report.recorded;
  if (decisions === undefined || decisions.length === 0) return undefined;
  const names = [...scenario.devices.map((d) => d.name), ...scenario.vms.map((v) => v.name)];
  const options = {
    seed: report.seed,
    stepsMax: decisions.length,
    checkEvery: 0,
    interruptPer1024: 0,
  };
  // After the recorded calls, each actor finishes the step it is in (lowest index first).
  const scheduler = new ReplayScheduler(decisions, names, decisions.length);
  const result = await runControlled(scenario, options, scheduler);
  const failure = result.failure;
  if (failure === undefined || failure.kind === 'divergence')
    return { result, written: false, reason: whyNot(report, result) };
  writeReplayFile(path, {
    ...replayHead(source, scenario.name),
    scheduler: 'replay',
    seed: report.seed,
    options: { stepsMax: decisions.length, checkEvery: 0, interruptPer1024: 0 },
    decisions: result.decisions,
    actorNames: result.actorNames,
    traceHash: result.traceHash,
    failure,
  });
  return { result, written: true };
}
