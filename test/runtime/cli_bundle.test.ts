// The command line as the package ships it: the bin (bin.js) starts one bundled file
// (dist/src/main/cli/cli.bundle.js) unless a scenario module is named (entry.ts). Inside a
// bundle every module's import.meta.url names the bundle, so each path the code starts a
// thread from goes through src/shared/module_url.ts; these tests run each kind of thread from
// the bundle, check the paths it names exist, and keep the full zod out.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { cliBuild } from '../../src/main/cli/entry.js';

const root = join(import.meta.dirname, '..', '..');
const bundle = 'dist/src/main/cli/cli.bundle.js';
const scratch = mkdtempSync(join(tmpdir(), 'vmmsim-bundle-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function vmmsim(...args: string[]) {
  const result = spawnSync(process.execPath, [join(root, bundle), ...args], {
    cwd: scratch, // not the package: nothing may be found relative to the working folder
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

describe('the bundled command line', () => {
  it('is what the package bin starts, unless a scenario module is named', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(manifest.bin.vmmsim).toBe('dist/src/main/cli/bin.js');
    expect(readFileSync(join(root, manifest.bin.vmmsim), 'utf8')).toMatch(
      /^#!\/usr\/bin\/env node\n/,
    );
    expect(readFileSync(join(root, bundle), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
    expect(cliBuild(['run'], true)).toBe('./cli.bundle.js');
    expect(cliBuild(['run', 'scenarios/default.json', '--calls', '5'], true)).toBe(
      './cli.bundle.js',
    );
    expect(cliBuild(['replay', 'x.replay.json'], true)).toBe('./cli.bundle.js');
    for (const file of ['a.ts', 'b.mts', 'c.js', 'd.mjs', 'e.cjs', 'f.TSX'])
      expect(cliBuild(['hunt', file, '--runs', '9'], true), file).toBe('./cli.js');
    expect(cliBuild(['replay', 'x.replay.json', '--scenario', 'race.ts'], true)).toBe('./cli.js');
    expect(cliBuild(['run'], false)).toBe('./cli.js'); // not built (a checkout before the build)
  });

  it('names only files that exist, relative to the package src folder', () => {
    const text = readFileSync(join(root, bundle), 'utf8');
    const named = [...text.matchAll(/srcUrl\("([^"]+)"\)/g)].map((m) => m[1]!);
    expect(named.length).toBeGreaterThanOrEqual(6);
    const entries = [...text.matchAll(/spawnWorker\("(\w+)"/g)].map((m) => `workers/${m[1]}.js`);
    expect(entries).toContain('workers/actor_worker.js');
    // .mjs: the bootstraps that start a worker from the .ts sources (never from dist/)
    for (const path of [...named, ...entries]) {
      const folder = path.endsWith('.mjs') ? join(root, 'src') : join(root, 'dist', 'src');
      expect(existsSync(join(folder, path)), path).toBe(true);
    }
  });

  it('holds zod/mini with English messages only', async () => {
    const result = await build({
      entryPoints: [join(root, 'src', 'main', 'cli', 'cli.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      external: ['tsx', 'tsx/*', 'piscina', 'mitata'],
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    // (the locales' index stays as a stub of under 1 KB: what it re-exports is dropped)
    const inputs = Object.entries(Object.values(result.metafile.outputs)[0]!.inputs)
      .filter(([file, input]) => input.bytesInOutput > (file.endsWith('index.js') ? 1000 : 0))
      .map(([file]) => file);
    expect(inputs.filter((f) => f.includes('zod/v4/classic'))).toEqual([]);
    const locales = inputs.filter((f) => f.includes('zod/v4/locales/'));
    expect(locales.map((f) => f.replace(/.*\//, ''))).toEqual(['en.js']);
  });

  it('runs actor workers and stress workers from another working folder', () => {
    const run = vmmsim('run', '--calls', '200', '--no-progress');
    expect(run.out).toContain('Invariants: sound');
    expect(run.code).toBe(0);
    const stress = vmmsim('stress', '--workers', '2', '--calls', '500');
    expect(stress.out).toContain('Invariants: sound');
    expect(stress.code).toBe(0);
  });

  it("starts a scenario module's workers from the package's modules, not a second copy", () => {
    // The actor worker's bundle is for JSON scenarios: a module imports 'vmmsim', and beside
    // a bundle its worker would compile the package twice (example.ts: 1.8 s instead of 1.3).
    const run = vmmsim('run', join(root, 'test', 'fixtures', 'same_class.ts'), '--no-progress');
    expect(run.out).toContain('Invariants: sound');
    expect(run.code).toBe(0);
  });

  it('runs a hunt on two pool threads', () => {
    const race = join(root, 'scenarios', 'races', 'uncoordinated-compaction.ts');
    const hunt = vmmsim('hunt', race, '--jobs', '2', '--runs', '40', '--no-progress');
    expect(hunt.out).toMatch(/40 runs in .* on 2 threads\), [1-9]\d* failure\(s\)/);
    expect(hunt.code).toBe(1);
  });

  it('runs the message-passing baseline (the bench workers)', () => {
    const bench = vmmsim('bench', '--only', 'baseline', '--quick', '--workers', '1');
    expect(bench.out).toMatch(/speedup over message passing +≥ 100× +\d+×/);
    expect(bench.code).toBe(0);
  }, 60_000);
});
