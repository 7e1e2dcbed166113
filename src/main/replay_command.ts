/**
 * `vmmsim replay` and `vmmsim shrink`: reproduce a saved controlled run exactly (same
 * decisions, same trace hash), and cut a failing schedule down to the fewest steps and
 * preemptions that still fail (delta debugging, then preemption removal).
 */
import type { ScenarioDefinition } from '../shared/scenario.js';
import { loadScenario } from '../workers/scenario_load.js';
import { type ControlledResult, runControlled } from './controlled.js';
import { signature } from './hunt.js';
import { type ReplayFile, readReplayFile, writeReplayFile } from './replay_file.js';
import { scenarioSource } from './run_command.js';
import { ReplayScheduler } from './schedulers/replay.js';
import type { Trace } from '../shared/trace.js';

export interface Replayed {
  replay: ReplayFile;
  result: ControlledResult;
  /** The same failure and the same trace hash as the file recorded. */
  reproduced: boolean;
}

async function scenarioOf(replay: ReplayFile): Promise<ScenarioDefinition> {
  return loadScenario(scenarioSource(replay.scenario.path, {}));
}

function runDecisions(
  scenario: ScenarioDefinition,
  replay: ReplayFile,
  decisions: number[],
  trace?: Trace,
): Promise<ControlledResult> {
  const stepsMax = Math.min(replay.options.stepsMax, decisions.length);
  const options = { ...replay.options, seed: replay.seed, stepsMax, ...(trace ? { trace } : {}) };
  // A schedule cut shorter than stepsMax (while shrinking) ends with every actor finishing
  // its step in actor order; a full one replays exactly, tail included.
  const scheduler = new ReplayScheduler(decisions, replay.actorNames, stepsMax);
  return runControlled(scenario, options, scheduler);
}

/** Replays a file once. Throws ReplayFileError or ScenarioError on bad input. */
export async function replayFile(path: string, trace?: Trace): Promise<Replayed> {
  const replay = readReplayFile(path);
  const scenario = await scenarioOf(replay);
  const result = await runDecisions(scenario, replay, replay.decisions, trace);
  const reproduced =
    result.traceHash === replay.traceHash &&
    result.failure?.kind === replay.failure.kind &&
    result.failure?.message === replay.failure.message;
  return { replay, result, reproduced };
}

const preemptions = (decisions: readonly number[]): number =>
  decisions.reduce((n, d, i) => n + (i > 0 && d !== decisions[i - 1] ? 1 : 0), 0);

export interface Shrunk {
  before: { steps: number; preemptions: number };
  after: { steps: number; preemptions: number };
  runs: number;
  path: string;
}

/** Delta debugging over the decisions, then fewer preemptions; writes a new replay file. */
export async function shrinkFile(path: string, outPath: string): Promise<Shrunk> {
  const replay = readReplayFile(path);
  const scenario = await scenarioOf(replay);
  const wanted = signature(replay.failure);
  let runs = 0;
  const fails = async (candidate: number[]): Promise<ControlledResult | undefined> => {
    runs += 1;
    const result = await runDecisions(scenario, replay, candidate);
    return result.failure !== undefined && signature(result.failure) === wanted
      ? result
      : undefined;
  };
  let best = [...replay.decisions];
  let bestResult = (await fails(best)) ?? (await runDecisions(scenario, replay, best));
  // The shortest failing prefix first (binary search: a race that happened stays happened).
  for (let lo = 1, hi = best.length; lo < hi;) {
    const mid = Math.floor((lo + hi) / 2);
    const result = await fails(best.slice(0, mid));
    if (result === undefined) lo = mid + 1;
    else {
      hi = mid;
      best = best.slice(0, mid);
      bestResult = result;
    }
  }
  for (let chunks = 2; best.length > 1 && chunks <= best.length;) {
    const size = Math.ceil(best.length / chunks);
    let cut = false;
    for (let start = 0; start < best.length; start += size) {
      const candidate = [...best.slice(0, start), ...best.slice(start + size)];
      const result = candidate.length > 0 ? await fails(candidate) : undefined;
      if (result === undefined) continue;
      best = candidate;
      bestResult = result;
      cut = true;
      break;
    }
    chunks = cut ? Math.max(chunks - 1, 2) : chunks * 2;
  }
  for (let i = 1; i < best.length; i++) {
    if (best[i] === best[i - 1]) continue;
    const candidate = [...best];
    candidate[i] = best[i - 1]!;
    const result = await fails(candidate);
    if (result === undefined) continue;
    best = candidate;
    bestResult = result;
  }
  writeReplayFile(outPath, {
    ...replay,
    scheduler: 'shrink',
    decisions: bestResult.decisions,
    traceHash: bestResult.traceHash,
    failure: bestResult.failure ?? replay.failure,
    options: { ...replay.options, stepsMax: Math.min(best.length, replay.options.stepsMax) },
  });
  return {
    before: { steps: replay.decisions.length, preemptions: preemptions(replay.decisions) },
    after: { steps: bestResult.decisions.length, preemptions: preemptions(bestResult.decisions) },
    runs,
    path: outPath,
  };
}
