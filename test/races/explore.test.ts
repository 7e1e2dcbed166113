// explore: every schedule within a preemption bound, with partial-order reduction. Each
// shipped race is found at K <= 2 and its replay file reproduces it; each fixed version is
// proved clean at the same bound; the reduction prunes without changing what is found; the
// counts do not depend on the threads, and two shards add up to the whole (and merge).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defineDevice, defineScenario, PageMapFreePhysReg, PG_SYS } from '../../src/index.js';
import { exploreItems, Happens } from '../../src/main/controlled/explore.js';
import { readPte, SYSTEM_VM } from '../../src/shared/page_table.js';
import { Explore, type ExploreOptions } from '../../src/main/controlled/explore_run.js';
import { mergeReports } from '../../src/main/controlled/merge.js';
import { replayFile } from '../../src/main/cli/replay_command.js';
import { scenarioSource } from '../../src/main/runtime/run_scenario.js';
import { loadScenario } from '../../src/shared/scenario/load.js';

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

/**
 * Two devices that move the frames of one region around correctly (every frame an exchange
 * returns goes into a hole): many steps that conflict and many that commute, no failure.
 */
const shuffler = (name: string, initOrder: number, owner: boolean) =>
  defineDevice({
    name,
    initOrder,
    create: (dev) => ({
      async control(message) {
        if (owner && message === 'Sys_Critical_Init') {
          const { eax } = await dev._PageAllocate(6, PG_SYS, 0, 0, 0, 0, 0, PageMapFreePhysReg);
          dev.shared[0] = eax >>> 12;
        }
        if (owner && message === 'Init_Complete') await dev._MapFreePhysReg(dev.shared[0]!, 3, 0);
        return false;
      },
      async step() {
        const first = dev.shared[0]!;
        let held = await dev._XchgFreePhysReg(first + dev.random.int(6), 0, 0);
        while (held !== 0 && held !== 0xffffffff) {
          const ptes = new Uint32Array(6);
          await dev._CopyPageTable(first, 6, ptes, 0);
          const hole = ptes.findIndex((pte) => (pte & 1) === 0);
          held = await dev._XchgFreePhysReg(first + Math.max(hole, 0), held, 0);
        }
      },
    }),
  });
const shufflers = defineScenario({
  name: 'shufflers',
  machine: { ramPages: 448, vmMax: 2, blockMax: 64, actorMax: 8, vmV86Pages: 2 },
  devices: [shuffler('SHUF1', 0x100, true), shuffler('SHUF2', 0x200, false)],
  vms: [],
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

  it('reaches every state the unreduced search reaches, and equal fingerprints are equal states', async () => {
    // The reduction skips only schedules whose steps commute: it must reach exactly the
    // states (up to equivalence) that the whole tree reaches. And two runs that reach one
    // happens-before fingerprint must hold the same machine (frames, PTEs, shared words):
    // else a footprint called two conflicting steps independent.
    const digests = new Map<string, string>();
    const wrong: string[] = [];
    const onStep = Happens.prototype.onStep;
    let compared = 0;
    Happens.prototype.onStep = function (actor, fp, kernel) {
      onStep.call(this, actor, fp, kernel);
      const l = kernel.layout;
      const ptes = Array.from({ length: 9 }, (_, i) => readPte(l, SYSTEM_VM, 0xc0000 + i));
      const digest = `${l.frames.join()}|${ptes.join()}|${l.scenarioWords.join()}`;
      const key = `${this.lo}:${this.hi}`;
      const seen = digests.get(key);
      if (seen === undefined) digests.set(key, digest);
      else if (seen !== digest) wrong.push(key);
      else compared += 1;
    };
    try {
      for (const file of ['shufflers', 'dropped-frame.fixed.ts', 'dma-before-lock.fixed.ts']) {
        const scenario =
          file === 'shufflers'
            ? shufflers
            : await loadScenario(scenarioSource(join(races, file), {}));
        digests.clear();
        const o = { preemptions: 2, stepsMax: 14, seed: 1, checkEvery: 0 };
        const root = [{ prefix: [], preemptions: 0 }];
        const reduced = await exploreItems(scenario, o, root);
        const whole = await exploreItems(scenario, { ...o, reduce: false }, root);
        expect(reduced.states).toBe(whole.states);
        expect(reduced.explored + reduced.pruned).toBeLessThan(whole.explored);
      }
    } finally {
      Happens.prototype.onStep = onStep;
    }
    expect(compared).toBeGreaterThan(100);
    expect(wrong).toEqual([]);
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
