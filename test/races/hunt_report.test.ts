// What hunt and controlled runs report: the first failure's run index and time, how many
// runs hit each distinct failure, replay file names with the scheduler and depth; a
// scenario's violation(message, { kind }) named by its kind; a throw with its stack; the
// phase of a failure after --steps (the wind-down) or at the end (finish).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defineDevice, defineScenario, PG_SYS } from '../../src/index.js';
import { runControlled } from '../../src/main/controlled/controlled.js';
import { Hunt, type HuntOptions } from '../../src/main/controlled/hunt.js';
import { mergeReports } from '../../src/main/controlled/merge.js';
import { scenarioSource } from '../../src/main/runtime/run_scenario.js';
import { RandomScheduler } from '../../src/main/controlled/schedulers/random.js';
import { loadScenario } from '../../src/shared/scenario/load.js';

const races = join(import.meta.dirname, '..', '..', 'scenarios', 'races');
const out = mkdtempSync(join(tmpdir(), 'vmmsim-huntreport-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const options: HuntOptions = {
  runs: 60,
  seedStart: 1,
  scheduler: 'random',
  depth: 3,
  stepsMax: 120,
  checkEvery: 0,
  interruptPer1024: 0,
  keepGoing: true,
  shard: { index: 0, count: 1 },
  jobs: 2,
  outDir: out,
};

async function hunt(extra: Partial<HuntOptions>) {
  const source = scenarioSource(join(races, 'dropped-frame.ts'), {});
  return new Hunt(source, await loadScenario(source), { ...options, ...extra }).run();
}

describe('hunt reports', () => {
  it('the first failure, hits per failure, and file names with scheduler and depth', async () => {
    const random = await hunt({});
    expect(random.failures.length).toBeGreaterThan(0);
    const hits = random.failures.reduce((n, f) => n + f.hits, 0);
    expect(hits).toBeGreaterThanOrEqual(random.failures.length);
    expect(hits).toBeLessThanOrEqual(random.runs);
    for (const f of random.failures) {
      expect(f.runIndex).toBe(f.seed); // seeds from 1, one shard: run k is seed k
      expect(f.atMs).toBeGreaterThanOrEqual(0);
      expect(basename(f.replayPath)).toMatch(/^race-dropped-frame-random-seed\d+\.replay\.json$/);
    }
    const source = scenarioSource(join(races, 'uncoordinated-compaction.ts'), {});
    const scenario = await loadScenario(source);
    const pct = await new Hunt(source, scenario, {
      ...options,
      scheduler: 'pct',
      runs: 200,
      keepGoing: false,
    }).run();
    expect(basename(pct.failures[0]!.replayPath)).toMatch(/-pct3-seed\d+\.replay\.json$/);
  });
});

describe('merge', () => {
  it('joins two hunt shards: runs added up, each failure once with all its hits', async () => {
    const paths: string[] = [];
    const shards = [];
    for (const index of [0, 1]) {
      const report = await hunt({ runs: 40, shard: { index, count: 2 } });
      const path = join(out, `hunt-shard${index}.json`);
      writeFileSync(path, JSON.stringify({ kind: 'hunt', ...report }));
      paths.push(path);
      shards.push(report);
    }
    const merged = mergeReports(paths);
    expect(merged.runs).toBe(40);
    expect(merged.shards).toEqual({ count: 2, present: [0, 1], missing: [] });
    const hits = shards.flatMap((r) => r.failures).reduce((n, f) => n + f.hits, 0);
    expect(merged.failures.reduce((n, f) => n + f.hits, 0)).toBe(hits);
    expect(new Set(merged.failures.map((f) => f.signature)).size).toBe(merged.failures.length);
    expect(() => mergeReports([paths[0]!, paths[0]!])).toThrow(/shard 0 is given twice/);
    const other = join(out, 'other.json');
    writeFileSync(other, JSON.stringify({ kind: 'hunt', ...shards[1]!, scheduler: 'pct' }));
    expect(() => mergeReports([paths[0]!, other])).toThrow(/a shard of another search/);
  });
});

const machine = { ramPages: 448, vmMax: 2, blockMax: 64, actorMax: 8, vmV86Pages: 2 };
const one = (create: Parameters<typeof defineDevice>[0]['create']) =>
  defineScenario({
    name: 'one',
    machine,
    devices: [defineDevice({ name: 'DEV', initOrder: 0x100, create })],
    vms: [],
  });
const run = (scenario: ReturnType<typeof one>, stepsMax = 10) =>
  runControlled(
    scenario,
    { seed: 1, stepsMax, checkEvery: 0, interruptPer1024: 0 },
    new RandomScheduler(1),
  );

describe('controlled failures', () => {
  it('violation(message, { kind }) names the kind', async () => {
    const result = await run(
      one((dev) => ({
        async step() {
          await dev.Get_VMM_Reenter_Count();
          dev.violation('the buffer moved', { kind: 'dma-buffer' });
        },
      })),
    );
    expect(result.failure).toMatchObject({
      kind: 'data',
      message: '[dma-buffer] DEV: the buffer moved',
    });
  });

  it('a throw carries its stack', async () => {
    const result = await run(
      one((dev) => ({
        async step() {
          await dev.Get_VMM_Reenter_Count();
          throw new Error('bad state');
        },
      })),
    );
    expect(result.failure).toMatchObject({ kind: 'threw', message: 'bad state' });
    expect(result.failure?.stack).toMatch(/Error: bad state\n\s+at /);
  });

  it('a failure after --steps is in the wind-down, one in finish() at the end', async () => {
    let calls = 0;
    const late = await run(
      one((dev) => ({
        async step() {
          const { eax } = await dev._PageAllocate(1, PG_SYS, 0, 0, 0, 0, 0, 0);
          await dev._PageFree(eax, 0);
          calls += 2;
          if (calls > 9) dev.violation('late');
        },
      })),
      9,
    );
    // Decision 9 (the 10th) finishes the step that decision 8 started: the wind-down.
    expect(late.failure).toMatchObject({ phase: 'wind-down', step: 10 });
    const end = await run(
      one((dev) => ({
        step: () => dev.Get_VMM_Reenter_Count().then(() => undefined),
        finish: () => dev.violation('at the end'),
      })),
    );
    expect(end.failure).toMatchObject({ phase: 'finish', message: '[data] DEV: at the end' });
  });
});
