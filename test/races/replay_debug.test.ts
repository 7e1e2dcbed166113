// Replay debugging: --print shows the schedule a line per decision (step, actor, the call
// with its arguments and result, a refusal's reason, * on a preemption); --until N stops
// before decision N and shows the state there — each actor's next call and the frames it
// holds, the shared words, the PTE and frame of each page named so far, the checker.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ControlledView } from '../../src/main/controlled/controlled.js';
import { Explore } from '../../src/main/controlled/explore_run.js';
import { replayFile, shrinkFile } from '../../src/main/cli/replay_command.js';
import { scheduleLines, stateLines } from '../../src/main/cli/replay_print.js';
import { scenarioSource } from '../../src/main/runtime/run_scenario.js';
import { Trace } from '../../src/shared/trace.js';
import { loadScenario } from '../../src/shared/scenario/load.js';

const races = join(import.meta.dirname, '..', '..', 'scenarios', 'races');
const out = mkdtempSync(join(tmpdir(), 'vmmsim-debug-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

async function shrunkCompaction(): Promise<string> {
  const source = scenarioSource(join(races, 'uncoordinated-compaction.ts'), {});
  const report = await new Explore(source, await loadScenario(source), {
    preemptions: 2,
    stepsMax: 12,
    seed: 1,
    checkEvery: 0,
    shard: { index: 0, count: 1 },
    jobs: 1,
    outDir: out,
  }).run();
  const shrunk = join(out, 'shrunk.replay.json');
  await shrinkFile(report.failure!.replayPath, shrunk);
  return shrunk;
}

describe('replay debugging', () => {
  it('--print: a line per decision, with the call, its result and the preemptions', async () => {
    const file = await shrunkCompaction();
    const trace = new Trace();
    const { result, reproduced } = await replayFile(file, { trace });
    expect(reproduced).toBe(true);
    const lines = scheduleLines(trace.events, result.actorNames);
    expect(lines).toHaveLength(result.decisions.length);
    lines.forEach((line, step) => {
      const who = result.actorNames[result.decisions[step]!]!;
      expect(line).toMatch(new RegExp(`^[ *]\\s+${step}  ${who}\\s+_\\w+\\(.*\\) = \\w+`));
    });
    expect(lines.filter((l) => l.startsWith('*')).length).toBeGreaterThan(0);
    // The lost frame: the second exchange of the late compactor takes a frame out.
    expect(lines.at(-1)).toMatch(/_XchgFreePhysReg\(C0001h, 0, 0\) = [0-9A-F]+000h$/);
  });

  it('--until N: the state before decision N', async () => {
    const file = await shrunkCompaction();
    let view: string[] = [];
    const until = { step: 6, onPause: (v: ControlledView) => (view = stateLines(v)) };
    const { result } = await replayFile(file, { until });
    expect(result.pruned).toBe(true); // stopped, not failed
    expect(result.failure).toBeUndefined();
    expect(view[0]).toBe('state before step 6:');
    expect(view).toContainEqual(expect.stringMatching(/COMPACT2 \(1\): next: _XchgFreePhysReg\(/));
    expect(view).toContainEqual('  shared words: [0] C0001h');
    expect(view).toContainEqual(expect.stringMatching(/^ {4}C0001h: PTE [0-9A-F]{8}h, frame /));
    expect(view.at(-1)).toBe('  checker: clean');
  });
});
