// The bridge: a violation seen on real threads with --record becomes a replay file that
// replays under the controlled scheduler, in the order the calls took effect.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runScenario } from '../../src/index.js';
import { bridgeRecorded } from '../../src/main/record.js';
import { replayFile } from '../../src/main/replay_command.js';
import { scenarioSource } from '../../src/main/run_command.js';
import { loadScenario } from '../../src/workers/scenario_load.js';

const out = mkdtempSync(join(tmpdir(), 'vmmsim-record-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));
const planted = join(import.meta.dirname, '..', '..', 'scenarios', 'planted-lost-frame.json');

describe('run --record', () => {
  it('keeps the order of run-phase calls and carries the violation over to a replay file', async () => {
    const report = await runScenario(planted, {
      seed: 5,
      hangSeconds: 10,
      calls: 6000,
      record: true,
    });
    expect(report.violations.some((v) => v.kind === 'lost-frame')).toBe(true);
    const recorded = report.recorded!;
    // One decision per task-time call and linear access of the run phase, each naming a
    // known actor.
    expect(recorded.length).toBeGreaterThan(1000);
    expect(recorded.every((actor) => actor >= 0 && actor < report.actors.length)).toBe(true);
    expect(new Set(recorded).size).toBeGreaterThan(1);
    const source = scenarioSource(planted, {});
    const file = join(out, 'recorded.replay.json');
    const bridged = await bridgeRecorded(source, await loadScenario(source), report, file);
    expect(bridged?.written).toBe(true);
    expect(bridged?.result.failure?.message).toMatch(/lost-frame/);
    const again = await replayFile(file);
    expect({ hash: again.result.traceHash, failure: again.result.failure?.message }).toEqual({
      hash: again.replay.traceHash,
      failure: again.replay.failure.message,
    });
    expect(again.reproduced).toBe(true);
  });

  it('a sound run keeps its order too, and writes nothing', async () => {
    const report = await runScenario(undefined, {
      seed: 5,
      hangSeconds: 10,
      calls: 3000,
      record: true,
    });
    expect(report.violations).toEqual([]);
    expect(report.recorded!.length).toBeGreaterThan(0);
  });
});
