// shrink never grows a schedule and keeps its failure: a property over many failing
// schedules of races whose actors draw from `random` (random scheduler, many seeds); the
// shrunk file replays to exactly what it records. A file that does not reproduce its own
// failure is refused (there is nothing to keep the same), and an empty schedule cannot be
// read, so shrink cannot write one.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { runControlled } from '../../src/main/controlled/controlled.js';
import { signature, writeFailureReplay } from '../../src/main/controlled/hunt.js';
import { replayFile, shrinkFile } from '../../src/main/cli/replay_command.js';
import { readReplayFile, ReplayFileError } from '../../src/main/controlled/replay_file.js';
import { scenarioSource } from '../../src/main/runtime/run_scenario.js';
import { RandomScheduler } from '../../src/main/controlled/schedulers/random.js';
import { loadScenario } from '../../src/shared/scenario/load.js';

const races = join(import.meta.dirname, '..', '..', 'scenarios', 'races');
const out = mkdtempSync(join(tmpdir(), 'vmmsim-shrink-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const options = { stepsMax: 120, checkEvery: 0, interruptPer1024: 0 };

/** A failing replay file of `name` under the random scheduler from `seed` on, or undefined. */
async function failing(name: string, seed: number): Promise<string | undefined> {
  const source = scenarioSource(join(races, `${name}.ts`), {});
  const scenario = await loadScenario(source);
  for (let s = seed; s < seed + 40; s++) {
    const result = await runControlled(scenario, { ...options, seed: s }, new RandomScheduler(s));
    if (result.failure === undefined) continue;
    return writeFailureReplay(out, source, scenario, {
      scheduler: 'random',
      label: `random-seed${s}`,
      seed: s,
      options,
      result,
    });
  }
  return undefined;
}

describe('shrink', () => {
  it('never makes a schedule longer, and keeps its failure (property)', async () => {
    let shrunkAny = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('dropped-frame', 'dma-before-lock', 'uncoordinated-compaction'),
        fc.integer({ min: 1, max: 100_000 }),
        async (name, seed) => {
          const file = await failing(name, seed);
          if (file === undefined) return;
          const before = readReplayFile(file);
          const target = file.replace(/\.replay\.json$/, '.shrunk.replay.json');
          const s = await shrinkFile(file, target);
          expect(s.after.steps).toBeLessThanOrEqual(s.before.steps);
          if (s.after.steps < s.before.steps) shrunkAny += 1;
          const again = await replayFile(target);
          expect(again.reproduced).toBe(true);
          expect(signature(again.result.failure!)).toBe(signature(before.failure));
          expect(again.result.failure!.actor).toBe(before.failure.actor);
        },
      ),
      { numRuns: 40, seed: 12 },
    );
    expect(shrunkAny).toBeGreaterThan(20);
  });

  it('refuses a file that does not reproduce its recorded failure', async () => {
    const file = (await failing('uncoordinated-compaction', 1))!;
    const replay = JSON.parse(readFileSync(file, 'utf8'));
    replay.failure.message = 'something else';
    const tampered = join(out, 'tampered.replay.json');
    writeFileSync(tampered, JSON.stringify(replay));
    await expect(shrinkFile(tampered, join(out, 'never.json'))).rejects.toThrow(
      /does not reproduce its recorded failure/,
    );
    replay.decisions = [];
    writeFileSync(tampered, JSON.stringify(replay));
    expect(() => readReplayFile(tampered)).toThrow(ReplayFileError);
    expect(() => readReplayFile(tampered)).toThrow(/decisions/);
  });
});
