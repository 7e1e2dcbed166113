// Replay files are what people attach to bug reports: a file names its scenario relative to
// itself and cannot make vmmsim import a module outside its own folder (or vmmsim's own
// scenarios) unless the user names it; it records the scenario's content hash, so a changed
// scenario is reported as changed; its actor names and scenario kind are checked against
// the scenario; a replay reproduces only with the same failure step too.
import { mkdirSync, symlinkSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runControlled } from '../../src/main/controlled/controlled.js';
import { writeFailureReplay } from '../../src/main/controlled/hunt.js';
import { replayFile } from '../../src/main/cli/replay_command.js';
import { readReplayFile, ReplayFileError } from '../../src/main/controlled/replay_file.js';
import { scenarioSource } from '../../src/main/runtime/run_scenario.js';
import { RandomScheduler } from '../../src/main/controlled/schedulers/random.js';
import { loadScenario } from '../../src/shared/scenario/load.js';

const races = join(import.meta.dirname, '..', '..', 'scenarios', 'races');
const index = join(import.meta.dirname, '..', '..', 'src', 'index.ts');
const out = mkdtempSync(join(tmpdir(), 'vmmsim-replayfiles-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));
const options = { stepsMax: 120, checkEvery: 0, interruptPer1024: 0 };

/** A user's folder: a copy of a race as their scenario, and a failing replay of it. */
async function userFolder(name: string): Promise<{ dir: string; scenario: string; file: string }> {
  const dir = join(out, name);
  mkdirSync(join(dir, 'replays'), { recursive: true });
  const scenarioPath = join(dir, 'race.ts');
  // The race, importing vmmsim by path (a folder outside the package cannot name it).
  const text = readFileSync(join(races, 'uncoordinated-compaction.ts'), 'utf8');
  writeFileSync(scenarioPath, text.replace("from 'vmmsim'", `from '${index}'`));
  const source = scenarioSource(scenarioPath, {});
  const scenario = await loadScenario(source);
  const result = await runControlled(scenario, { ...options, seed: 1 }, new RandomScheduler(1));
  expect(result.failure).toBeDefined();
  const w = { scheduler: 'random' as const, label: 'random-seed1', seed: 1, options, result };
  const file = await writeFailureReplay(dir, source, scenario, w);
  return { dir, scenario: scenarioPath, file };
}

describe('replay files', () => {
  it('name their scenario relative to themselves, with its content hash', async () => {
    const { file } = await userFolder('relative');
    const json = JSON.parse(readFileSync(file, 'utf8'));
    expect(json.scenario).toMatchObject({ kind: 'module', path: 'race.ts' });
    expect(json.scenario.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect((await replayFile(file)).reproduced).toBe(true);
  });

  it('run a scenario outside their folder only when the user names it', async () => {
    const { dir, scenario, file } = await userFolder('outside');
    const moved = join(dir, 'replays', 'moved.replay.json');
    const json = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(
      moved,
      JSON.stringify({ ...json, scenario: { ...json.scenario, path: '../race.ts' } }),
    );
    expect(() => readReplayFile(moved)).toThrow(ReplayFileError);
    expect(() => readReplayFile(moved)).toThrow(/outside the replay file's folder.*--scenario/);
    const evil = { ...json, scenario: { ...json.scenario, path: '/etc/passwd.ts' } };
    writeFileSync(moved, JSON.stringify(evil));
    await expect(replayFile(moved)).rejects.toThrow(/outside the replay file's folder/);
    writeFileSync(
      moved,
      JSON.stringify({ ...json, scenario: { ...json.scenario, path: '../race.ts' } }),
    );
    expect((await replayFile(moved, { scenario })).reproduced).toBe(true);
    // A link inside the folder to a module outside it is outside.
    symlinkSync(scenario, join(dir, 'replays', 'link.ts'));
    const linked = { ...json, scenario: { ...json.scenario, path: 'link.ts' } };
    writeFileSync(moved, JSON.stringify(linked));
    expect(() => readReplayFile(moved)).toThrow(/outside the replay file's folder/);
  });

  it('report a changed scenario as changed, not as another outcome', async () => {
    const { scenario, file } = await userFolder('changed');
    writeFileSync(scenario, `${readFileSync(scenario, 'utf8')}\n// an edit\n`);
    const again = await replayFile(file);
    expect(again.changed).toMatch(/the scenario changed since the replay was recorded/);
  });

  it('check actor names and scenario kind against the scenario', async () => {
    const { dir, file } = await userFolder('names');
    const json = JSON.parse(readFileSync(file, 'utf8'));
    const renamed = join(dir, 'renamed.replay.json');
    writeFileSync(renamed, JSON.stringify({ ...json, actorNames: ['COMPACT1', 'OTHER'] }));
    await expect(replayFile(renamed)).rejects.toThrow(/its actors are \[COMPACT1, COMPACT2\]/);
    const kind = join(dir, 'kind.replay.json');
    writeFileSync(kind, JSON.stringify({ ...json, scenario: { ...json.scenario, kind: 'json' } }));
    await expect(replayFile(kind)).rejects.toThrow(
      /a module scenario; the replay file recorded a json/,
    );
  });

  it('reproduce only with the same failure step', async () => {
    const { dir, file } = await userFolder('step');
    const json = JSON.parse(readFileSync(file, 'utf8'));
    const moved = join(dir, 'step.replay.json');
    writeFileSync(
      moved,
      JSON.stringify({ ...json, failure: { ...json.failure, step: json.failure.step + 1 } }),
    );
    expect((await replayFile(moved)).reproduced).toBe(false);
  });

  it('never overwrite a different file of the same name', async () => {
    const { dir, scenario: path } = await userFolder('names2');
    const source = scenarioSource(path, {});
    const scenario = await loadScenario(source);
    const paths = [];
    for (const seed of [1, 2, 1]) {
      const r = await runControlled(scenario, { ...options, seed: 1 }, new RandomScheduler(seed));
      const w = { scheduler: 'random' as const, label: 'x', seed: 1, options, result: r };
      if (r.failure !== undefined) paths.push(await writeFailureReplay(dir, source, scenario, w));
    }
    expect(paths.length).toBe(3);
    expect(paths[1]).not.toBe(paths[0]);
    expect(paths[2]).toBe(paths[0]); // the same schedule again: the same file
  });
});
