// explore: every schedule within a preemption bound, with partial-order reduction. Each
// shipped race is found at K <= 2 and its replay file reproduces it; each fixed version is
// proved clean at the same bound; the reduction prunes without changing what is found; the
// counts do not depend on the threads, and two shards add up to the whole (and merge).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exploreItems } from '../../src/main/explore.js';
import { Explore, type ExploreOptions } from '../../src/main/explore_run.js';
import { mergeReports } from '../../src/main/merge.js';
import { replayFile } from '../../src/main/replay_command.js';
import { scenarioSource } from '../../src/main/run_command.js';
import { loadScenario } from '../../src/workers/scenario_load.js';

const races = join(import.meta.dirname, '..', '..', 'scenarios', 'races');
const out = mkdtempSync(join(tmpdir(), 'vmmsim-explore-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const options: ExploreOptions = {
  preemptions: 2,
  stepsMax: 40,
  seed: 1,
  checkEvery: 0,
  shard: { index: 0, count: 1 },
  jobs: 2,
  outDir: out,
};

async function explore(file: string, extra: Partial<ExploreOptions> = {}) {
  const source = scenarioSource(join(races, file), {});
  return new Explore(source, await loadScenario(source), { ...options, ...extra }).run();
}

describe.each([
  ['dropped-frame', /lost-frame/],
  ['uncoordinated-compaction', /lost-frame/],
  ['dma-before-lock', /locked-page-moved|DMA data missed its page/],
])('explore %s', (name, expected) => {
  it('finds the race with at most 2 preemptions; the replay file reproduces it', async () => {
    const report = await explore(`${name}.ts`);
    expect(report.failure?.failure.message).toMatch(expected);
    expect(report.failure!.preemptions).toBeLessThanOrEqual(2);
    const again = await replayFile(report.failure!.replayPath);
    expect(again.reproduced).toBe(true);
  });

  it('proves the fixed version clean at the same bound', async () => {
    const report = await explore(`${name}.fixed.ts`);
    expect(report.failure).toBeUndefined();
    expect(report.interrupted).toBe(false);
    expect(report.chunksDone).toBe(report.chunks);
    expect(report.explored).toBeGreaterThan(10);
  });
});

describe('explore: the reduction and the split', () => {
  it('prunes schedules without changing what is found', async () => {
    for (const file of ['uncoordinated-compaction.ts', 'dma-before-lock.fixed.ts']) {
      const scenario = await loadScenario(scenarioSource(join(races, file), {}));
      const o = { preemptions: 2, stepsMax: 16, seed: 1, checkEvery: 0 };
      const root = [{ prefix: [], preemptions: 0 }];
      const reduced = await exploreItems(scenario, o, root);
      const whole = await exploreItems(scenario, { ...o, reduce: false }, root);
      expect(whole.pruned).toBe(0);
      expect(reduced.failure?.result.failure?.message).toBe(whole.failure?.result.failure?.message);
      if (reduced.failure === undefined) {
        expect(reduced.explored).toBeLessThan(whole.explored);
        expect(reduced.pruned).toBeGreaterThan(0);
      }
    }
  });

  it('counts the same on 1 thread as on 2, two shards add up to the whole, and merge', async () => {
    const file = 'uncoordinated-compaction.fixed.ts';
    const one = await explore(file, { jobs: 1, stepsMax: 24 });
    const two = await explore(file, { jobs: 2, stepsMax: 24 });
    expect([two.explored, two.pruned]).toEqual([one.explored, one.pruned]);
    const shards = [];
    for (const index of [0, 1]) {
      const report = await explore(file, { stepsMax: 24, shard: { index, count: 2 } });
      const path = join(out, `shard${index}.json`);
      writeFileSync(path, JSON.stringify({ kind: 'explore', ...report }));
      shards.push({ report, path });
    }
    const [a, b] = shards.map((s) => s.report);
    expect(a!.explored + b!.explored).toBe(one.explored);
    expect(a!.pruned + b!.pruned).toBe(one.pruned);
    const merged = mergeReports(shards.map((s) => s.path));
    expect(merged).toMatchObject({
      kind: 'explore',
      runs: one.explored,
      pruned: one.pruned,
      shards: { count: 2, present: [0, 1], missing: [] },
      failures: [],
    });
  });
});
