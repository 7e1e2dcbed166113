// The bridge: a violation seen on real threads with --record becomes a replay file that
// replays under the controlled scheduler, in the order the calls took effect.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runScenario } from '../../src/index.js';
import { bridgeRecorded } from '../../src/main/controlled/record.js';
import { replayFile } from '../../src/main/cli/replay_command.js';
import { scenarioSource } from '../../src/main/runtime/run_scenario.js';
import { loadScenario } from '../../src/shared/scenario/load.js';

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

  it('a failure on real threads without interrupts or callbacks replays under control', async () => {
    const races = join(import.meta.dirname, '..', '..', 'scenarios', 'races');
    let carried = false;
    for (let seed = 1; seed <= 12 && !carried; seed++) {
      for (const name of ['uncoordinated-compaction', 'dma-before-lock']) {
        const path = join(races, `${name}.ts`);
        const report = await runScenario(path, { seed, hangSeconds: 10, record: true });
        const failed = report.violations.length > 0 || report.actorViolations.length > 0;
        if (!failed) continue;
        expect(report.interruptsTaken).toBe(0);
        expect(report.callbacks.calls).toBe(0);
        const source = scenarioSource(path, {});
        const file = join(out, `${name}-${seed}.replay.json`);
        const bridged = await bridgeRecorded(source, await loadScenario(source), report, file);
        if (bridged === undefined) continue; // it failed before any run-phase call
        if (!bridged.written) {
          // When it does not carry over, the reason given is the run's own: no interrupts.
          expect(bridged.reason).toMatch(/no interrupts and no callbacks|could not be followed/);
          continue;
        }
        expect((await replayFile(file)).reproduced).toBe(true);
        carried = true;
        break;
      }
    }
    expect(carried).toBe(true);
  });

  it('says why a recorded order does not reproduce, from what the run saw', async () => {
    const races = join(import.meta.dirname, '..', '..', 'scenarios', 'races');
    const fixed = join(races, 'dropped-frame.fixed.ts');
    const source = scenarioSource(fixed, {});
    const scenario = await loadScenario(source);
    const report = await runScenario(fixed, { seed: 5, hangSeconds: 10, calls: 300, record: true });
    const quiet = { ...report, recorded: [0, 0, 0, 0], interruptsTaken: 0 };
    quiet.callbacks = { ...report.callbacks, calls: 0 };
    const bridged = await bridgeRecorded(source, scenario, quiet, join(out, 'never.json'));
    expect(bridged?.written).toBe(false);
    expect(bridged?.reason).toMatch(/the run took no interrupts and no callbacks/);
    const noisy = { ...quiet, interruptsTaken: 7 };
    const again = await bridgeRecorded(source, scenario, noisy, join(out, 'never.json'));
    expect(again?.reason).toMatch(/the run took 7 interrupt\(s\) and 0 callback call\(s\)/);
  });
});
