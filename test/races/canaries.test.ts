// Canaries: three scenarios with planted races that the hunter must find, each failure
// replayed to the same trace hash, and a round trip: fail → file → replay → same failure →
// shrink → still fails. If the controlled scheduler or replay breaks, these go red.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Hunt, type HuntOptions } from '../../src/main/controlled/hunt.js';
import { readReplayFile, ReplayFileError } from '../../src/main/controlled/replay_file.js';
import { replayFile, shrinkFile } from '../../src/main/cli/replay_command.js';
import { scenarioSource } from '../../src/main/runtime/run_scenario.js';
import { loadScenario } from '../../src/shared/scenario/load.js';

const races = join(import.meta.dirname, '..', '..', 'scenarios', 'races');
const out = mkdtempSync(join(tmpdir(), 'vmmsim-races-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const options: HuntOptions = {
  runs: 3000,
  seedStart: 1,
  scheduler: 'pct',
  depth: 3,
  stepsMax: 200,
  checkEvery: 0,
  interruptPer1024: 0,
  keepGoing: false,
  shard: { index: 0, count: 1 },
  jobs: 2,
  outDir: out,
};

async function hunt(name: string, extra: Partial<HuntOptions> = {}) {
  const source = scenarioSource(join(races, `${name}.ts`), {});
  return new Hunt(source, await loadScenario(source), { ...options, ...extra }).run();
}

const found: Record<string, string> = {};

describe.each([
  ['dropped-frame', /lost-frame/],
  ['uncoordinated-compaction', /lost-frame/],
  ['dma-before-lock', /locked-page-moved|DMA data missed its page/],
])('canary %s', (name, expected) => {
  it('is found by PCT within 3,000 runs and replays to the same failure and trace hash', async () => {
    const report = await hunt(name);
    expect(report.failures).toHaveLength(1);
    const failure = report.failures[0]!;
    expect(failure.failure.message).toMatch(expected);
    expect(failure.deterministic).toBe(true);
    found[name] = failure.replayPath;
    const again = await replayFile(failure.replayPath);
    expect(again.reproduced).toBe(true);
  });
});

describe('replay round trip', () => {
  it('replays the same failure 100 times out of 100', async () => {
    const file = found['dropped-frame']!;
    const hashes = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const { reproduced, result } = await replayFile(file);
      expect(reproduced).toBe(true);
      hashes.add(result.traceHash);
    }
    expect(hashes.size).toBe(1);
  });

  it('shrinks to fewer steps that still fail the same way, as a new replay file', async () => {
    const file = found['uncoordinated-compaction']!;
    const shrunkPath = join(out, 'shrunk.replay.json');
    const shrunk = await shrinkFile(file, shrunkPath);
    expect(shrunk.after.steps).toBeLessThan(shrunk.before.steps);
    const again = await replayFile(shrunkPath);
    expect(again.reproduced).toBe(true);
    expect(again.result.failure?.message).toMatch(/lost-frame/);
  });

  it('a schedule that cannot be followed stops and says where', async () => {
    const replay = JSON.parse(readFileSync(found['dropped-frame']!, 'utf8'));
    replay.decisions[5] = 1 - replay.decisions[5]; // the other actor, which may not be runnable
    replay.decisions[6] = 7; // no such actor
    const tampered = join(out, 'tampered.replay.json');
    writeFileSync(
      tampered,
      JSON.stringify({
        ...replay,
        scenario: { ...replay.scenario, path: join(races, 'dropped-frame.ts') },
      }),
    );
    const { result } = await replayFile(tampered);
    expect(result.failure?.kind).toBe('divergence');
    expect(result.failure?.message).toMatch(
      /replay diverged: expected .* at step [56], runnable were \[/,
    );
  });

  it('keep-going collects each distinct failure once, and a shard takes its own seeds', async () => {
    const report = await hunt('dropped-frame', {
      runs: 40,
      scheduler: 'random',
      keepGoing: true,
      shard: { index: 1, count: 4 },
    });
    expect(report.runs).toBe(10);
    expect(report.failures.length).toBeGreaterThanOrEqual(1);
    expect(report.failures.every((f) => (f.seed - 1) % 4 === 1)).toBe(true);
  });
});

describe('replay files: bad input is one sentence', () => {
  const write = (name: string, text: string): string => {
    const path = join(out, name);
    writeFileSync(path, text);
    return path;
  };
  it.each([
    ['truncated', '{ "format": "vmmsim-replay", "vers', /not valid JSON/],
    ['foreign', '{ "hello": "world" }', /not a vmmsim replay file/],
    [
      'from another version',
      '{ "format": "vmmsim-replay", "version": 3 }',
      /version 3; this vmmsim reads version 2/,
    ],
    ['missing fields', '{ "format": "vmmsim-replay", "version": 2 }', /scenario/],
  ])('%s', (_name, text, message) => {
    const path = write(`${_name.replace(/ /g, '-')}.json`, text);
    expect(() => readReplayFile(path)).toThrow(ReplayFileError);
    expect(() => readReplayFile(path)).toThrow(message);
  });
});
