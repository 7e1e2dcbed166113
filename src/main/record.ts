/**
 * The bridge from real threads to controlled mode (`vmmsim run --record <file>`): the order
 * in which run-phase service calls took effect becomes a schedule of decisions; when the run
 * broke an invariant, that schedule is replayed under the controlled scheduler and, if it
 * fails there too, written as a replay file. Interrupt and callback timing are not part of
 * the schedule, so a failure that depends on them may not carry over.
 */
import type { ScenarioSource } from '../shared/protocol.js';
import type { ScenarioDefinition } from '../shared/scenario.js';
import { type ControlledResult, runControlled } from './controlled.js';
import type { RunReport } from './coordinator.js';
import { writeReplayFile } from './replay_file.js';
import { ReplayScheduler } from './schedulers/replay.js';

export interface Bridged {
  result: ControlledResult;
  written: boolean;
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
  if (failure === undefined || failure.kind === 'divergence') return { result, written: false };
  writeReplayFile(path, {
    format: 'vmmsim-replay',
    version: 1,
    scenario: { kind: source.kind, path: source.path },
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
