/**
 * `vmmsim replay` and `vmmsim shrink`: reproduce a saved controlled run exactly (same
 * decisions, same trace hash), and cut a failing schedule down while it fails the same way:
 * the shortest failing prefix, then chunks (delta debugging), then fewer actors, then fewer
 * context switches. A candidate is kept only when its whole run — the decisions of the
 * wind-down included — is shorter (or as long with fewer switches or actors), so it never
 * grows; what it writes is replayed once more and must reproduce before it is written.
 */
import type { ScenarioDefinition } from '../../shared/scenario/scenario.js';
import type { Trace } from '../../shared/trace.js';
import { loadScenario } from '../../shared/scenario/load.js';
import {
  type ControlledFailure,
  type ControlledResult,
  type ControlledView,
  runControlled,
} from '../controlled/controlled.js';
import { signature } from '../controlled/hunt.js';
import {
  checkScenario,
  type ReplayFile,
  ReplayFileError,
  readReplayFile,
  writeReplayFile,
} from '../controlled/replay_file.js';
import { scenarioSource } from '../runtime/run_scenario.js';
import { ReplayScheduler } from '../controlled/schedulers/replay.js';

export interface Replayed {
  replay: ReplayFile;
  result: ControlledResult;
  /** The same failure (kind, message, step, actor) and the same trace hash as recorded. */
  reproduced: boolean;
  /** Set when the scenario file is not the one the replay recorded. */
  changed?: string;
}

export interface ReplayOptions {
  trace?: Trace;
  /** A scenario named on the command line (instead of the file's). */
  scenario?: string;
  /** Stop before this decision and show the state there. */
  until?: { step: number; onPause(view: ControlledView): void };
}

/** The scenario of a replay file, its kind and actor names checked against the file. */
async function scenarioOf(replay: ReplayFile): Promise<{
  scenario: ScenarioDefinition;
  changed: string | undefined;
}> {
  const source = scenarioSource(replay.scenario.path, {});
  const changed = checkScenario(replay, source.kind);
  const scenario = await loadScenario(source);
  const names = [...scenario.devices.map((d) => d.name), ...scenario.vms.map((v) => v.name)];
  const recorded = replay.actorNames;
  if (changed === undefined && recorded.some((name, i) => names[i] !== name)) {
    throw new ReplayFileError(
      `${replay.scenario.path}: its actors are [${names.join(', ')}]; the replay file ` +
        `recorded [${recorded.join(', ')}]`,
    );
  }
  return { scenario, changed };
}

/** The stepsMax of a run of `decisions`: the file's, or less for a cut schedule. */
const stepsMaxFor = (replay: ReplayFile, decisions: readonly number[]): number =>
  Math.max(1, Math.min(replay.options.stepsMax, decisions.length));

function runDecisions(
  scenario: ScenarioDefinition,
  replay: ReplayFile,
  decisions: readonly number[],
  extra: Pick<ReplayOptions, 'trace' | 'until'> = {},
): Promise<ControlledResult> {
  const stepsMax = stepsMaxFor(replay, decisions);
  const options = {
    ...replay.options,
    seed: replay.seed,
    stepsMax,
    ...(extra.trace ? { trace: extra.trace } : {}),
    ...(extra.until ? { pauseAt: extra.until } : {}),
  };
  // A schedule cut shorter than stepsMax (while shrinking) ends with every actor finishing
  // its step in actor order; a full one replays exactly, tail included.
  const scheduler = new ReplayScheduler(decisions, replay.actorNames, stepsMax);
  return runControlled(scenario, options, scheduler);
}

/** The same failure: kind, message, step, actor. */
function sameFailure(a: ControlledFailure | undefined, b: ControlledFailure): boolean {
  return (
    a !== undefined &&
    a.kind === b.kind &&
    a.message === b.message &&
    a.step === b.step &&
    a.actor === b.actor
  );
}

/** Replays a file once. Throws ReplayFileError or ScenarioError on bad input. */
export async function replayFile(path: string, o: ReplayOptions = {}): Promise<Replayed> {
  const replay = readReplayFile(path, o.scenario);
  const { scenario, changed } = await scenarioOf(replay);
  const result = await runDecisions(scenario, replay, replay.decisions, o);
  const reproduced =
    result.traceHash === replay.traceHash && sameFailure(result.failure, replay.failure);
  return { replay, result, reproduced, ...(changed === undefined ? {} : { changed }) };
}

/** Context switches: decisions that pick another actor than the one before. */
const switches = (decisions: readonly number[]): number =>
  decisions.reduce((n, d, i) => n + (i > 0 && d !== decisions[i - 1] ? 1 : 0), 0);
const actorCount = (decisions: readonly number[]): number => new Set(decisions).size;

export interface Shrunk {
  before: { steps: number; switches: number; actors: number };
  after: { steps: number; switches: number; actors: number };
  runs: number;
  path: string;
}

/** Whether the run `b` is smaller than `a`: fewer decisions, then switches, then actors. */
function smaller(b: readonly number[], a: readonly number[]): boolean {
  if (b.length !== a.length) return b.length < a.length;
  if (switches(b) !== switches(a)) return switches(b) < switches(a);
  return actorCount(b) < actorCount(a);
}

class Shrinker {
  runs = 0;
  best: ControlledResult;
  /** The stepsMax the best run had (a cut schedule starts its wind-down at its end). */
  stepsMax: number;
  private readonly wanted: string;
  private readonly actor: string | undefined;

  constructor(
    private readonly scenario: ScenarioDefinition,
    private readonly replay: ReplayFile,
    start: ControlledResult,
  ) {
    this.best = start;
    this.stepsMax = stepsMaxFor(replay, replay.decisions);
    this.wanted = signature(replay.failure);
    this.actor = replay.failure.actor;
  }

  /** Runs `candidate`; keeps it when it fails the same way and its run is smaller. */
  async try(candidate: number[]): Promise<boolean> {
    if (candidate.length === 0) return false;
    this.runs += 1;
    const result = await runDecisions(this.scenario, this.replay, candidate);
    const f = result.failure;
    if (f === undefined || signature(f) !== this.wanted || f.actor !== this.actor) return false;
    if (!smaller(result.decisions, this.best.decisions)) return false;
    this.best = result;
    this.stepsMax = stepsMaxFor(this.replay, candidate);
    return true;
  }

  get decisions(): number[] {
    return this.best.decisions;
  }

  async prefix(): Promise<void> {
    for (let lo = 1, hi = this.decisions.length; lo < hi;) {
      const mid = Math.floor((lo + hi) / 2);
      if (await this.try(this.decisions.slice(0, mid))) hi = Math.min(mid, this.decisions.length);
      else lo = mid + 1;
    }
  }

  async chunks(): Promise<void> {
    for (let chunks = 2; this.decisions.length > 1 && chunks <= this.decisions.length;) {
      const best = this.decisions;
      const size = Math.ceil(best.length / chunks);
      let cut = false;
      for (let start = 0; start < best.length && !cut; start += size)
        cut = await this.try([...best.slice(0, start), ...best.slice(start + size)]);
      chunks = cut ? Math.max(chunks - 1, 2) : chunks * 2;
    }
  }

  /** Each decision on its own, from the end (schedules of up to 400 decisions). */
  async singles(): Promise<void> {
    if (this.decisions.length > 400) return;
    for (let i = this.decisions.length - 1; i >= 0; i--) {
      if (i >= this.decisions.length) continue;
      await this.try([...this.decisions.slice(0, i), ...this.decisions.slice(i + 1)]);
    }
  }

  async actors(): Promise<void> {
    for (const actor of [...new Set(this.decisions)].sort((a, b) => a - b)) {
      if (actorCount(this.decisions) <= 1) return;
      await this.try(this.decisions.filter((d) => d !== actor));
    }
  }

  async switches(): Promise<void> {
    for (let i = 1; i < this.decisions.length; i++) {
      const best = this.decisions;
      if (best[i] === best[i - 1]) continue;
      const candidate = [...best];
      candidate[i] = best[i - 1]!;
      await this.try(candidate);
    }
  }
}

/**
 * Shrinks a failing replay file into `outPath`. The input must reproduce its failure (a file
 * that does not is refused: there is nothing to keep the same).
 */
export async function shrinkFile(path: string, outPath: string, scenarioPath?: string) {
  const replay = readReplayFile(path, scenarioPath);
  const { scenario, changed } = await scenarioOf(replay);
  if (changed !== undefined) throw new ReplayFileError(`${path}: ${changed}; nothing to shrink`);
  const start = await runDecisions(scenario, replay, replay.decisions);
  if (!sameFailure(start.failure, replay.failure) || start.failure?.kind === 'divergence') {
    const got =
      start.failure === undefined
        ? 'no failure'
        : `${start.failure.kind}: ${start.failure.message}`;
    throw new ReplayFileError(
      `${path}: does not reproduce its recorded failure (this run: ${got}); nothing to shrink`,
    );
  }
  const s = new Shrinker(scenario, replay, start);
  // Rounds until one cuts nothing (at most 4): each pass can open the way for another.
  for (let round = 0, before = Infinity; round < 4 && s.decisions.length < before; round++) {
    before = s.decisions.length;
    await s.prefix();
    await s.chunks();
    await s.singles();
    await s.actors();
    await s.switches();
  }
  const written = await writeShrunk(scenario, replay, s, outPath);
  const measure = (d: readonly number[]) => ({
    steps: d.length,
    switches: switches(d),
    actors: actorCount(d),
  });
  return {
    before: measure(replay.decisions),
    after: measure(written),
    runs: s.runs,
    path: outPath,
  };
}

/** Writes the shrunk schedule after one more replay proves it reproduces as written. */
async function writeShrunk(
  scenario: ScenarioDefinition,
  replay: ReplayFile,
  s: Shrinker,
  outPath: string,
): Promise<number[]> {
  const best = s.best;
  const decisions = best.decisions;
  const shrunk: ReplayFile = {
    ...replay,
    scheduler: 'shrink',
    decisions,
    traceHash: best.traceHash,
    failure: best.failure!,
    options: { ...replay.options, stepsMax: s.stepsMax },
  };
  const again = await runDecisions(scenario, shrunk, decisions);
  const same = again.traceHash === shrunk.traceHash && sameFailure(again.failure, shrunk.failure);
  if (!same) throw new Error('shrink: the shrunk schedule does not replay as recorded');
  writeReplayFile(outPath, shrunk);
  return decisions;
}
