// vmmsim in a user's own project, as a new user gets it: `npm pack`, then a folder made by
// `npm init -y` (a CommonJS package) where the tarball is installed; scenarios in .ts, .mts,
// .js and .mjs import from 'vmmsim' with types, in that folder and after it turns ESM; then
// `vmmsim init` there, and run, hunt and replay on what it wrote.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'vmmsim-package-'));
const project = join(scratch, 'project');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// The node running the tests runs npm, the bin link's `#!/usr/bin/env node` and tsc too.
const env: NodeJS.ProcessEnv = {
  ...process.env,
  PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH}`,
};

function npm(cwd: string, ...args: string[]): string {
  return execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd,
    env,
    encoding: 'utf8',
    timeout: 180_000,
  });
}

function vmmsim(...args: string[]) {
  const bin = join(project, 'node_modules', '.bin', 'vmmsim');
  const result = spawnSync(bin, args, {
    cwd: project,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

function tsc(): { code: number | null; out: string } {
  const compiler = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [compiler, '-p', project], {
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: result.status, out: result.stdout + result.stderr };
}

/** A device that counts free pages 40 times: a scenario in each module flavour. */
const device = (name: string, cjs = false) => {
  const body =
    `defineScenario({ name: '${name}', budget: { calls: 40 }, vms: [], devices: [` +
    `defineDevice({ name: 'MINI', initOrder: 0x70000000, create: (dev) => ({ ` +
    `step: async () => { await dev._GetFreePageCount(0); } }) })] })`;
  return cjs
    ? `const { defineScenario, defineDevice } = require('vmmsim');\nmodule.exports = ${body};\n`
    : `import { defineScenario, defineDevice } from 'vmmsim';\nexport default ${body};\n`;
};

const typed = `import { defineDevice, defineScenario, type DeviceActor } from 'vmmsim';
const count = async (dev: DeviceActor): Promise<number> => (await dev._GetFreePageCount(0)).eax;
export default defineScenario({
  name: 'typed',
  budget: { calls: 40 },
  devices: [
    defineDevice({
      name: 'TYPED',
      initOrder: 0x70000000,
      create: (dev) => ({ step: async () => void (await count(dev)) }),
    }),
  ],
  vms: [],
});
`;

/** A device that reads an unmapped page and catches the fault by its class from 'vmmsim'. */
const catching = `import { defineDevice, defineScenario, PageFaultError } from 'vmmsim';
export default defineScenario({
  name: 'catching',
  budget: { calls: 40 },
  devices: [
    defineDevice({
      name: 'CATCHER',
      initOrder: 0x70000000,
      create: (dev) => ({
        step: async () => {
          await dev._GetFreePageCount(0);
          try {
            await dev.readLinear(0x7ff00000, 1);
            dev.violation('an unmapped page was read', {});
          } catch (error) {
            if (!(error instanceof PageFaultError)) throw error;
          }
        },
      }),
    }),
  ],
  vms: [],
});
`;

const tsconfig = {
  compilerOptions: {
    module: 'nodenext',
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  },
  include: ['*.ts', '*.mts'],
};

function expectSound(file: string): void {
  const { code, out, err } = vmmsim('run', file, '--no-progress');
  expect(err).toBe('');
  expect(out).toContain('Invariants: sound');
  expect(code).toBe(0);
}

beforeAll(() => {
  npm(root, 'pack', '--ignore-scripts', '--pack-destination', scratch);
  const tarball = readdirSync(scratch).find((name) => name.endsWith('.tgz'))!;
  mkdirSync(project);
  npm(project, 'init', '-y');
  // The dependencies come from npm's cache when npm ci put them there, else the registry.
  npm(project, 'install', '--prefer-offline', join(scratch, tarball));
}, 240_000);

describe('the package in a folder made by npm init -y', () => {
  it('is a CommonJS package, as npm init -y writes it', () => {
    expect(JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')).type).toBe('commonjs');
  });

  it('runs .ts, .mts, .js (import or require) and .mjs scenarios there', () => {
    writeFileSync(join(project, 'typed.ts'), typed);
    writeFileSync(join(project, 'typed.mts'), typed);
    writeFileSync(join(project, 'esm.js'), device('esm-syntax js'));
    writeFileSync(join(project, 'cjs.js'), device('require js', true));
    writeFileSync(join(project, 'plain.mjs'), device('mjs'));
    for (const file of ['typed.ts', 'typed.mts', 'esm.js', 'cjs.js', 'plain.mjs']) {
      expectSound(file);
    }
  });

  it("catches the kernel's PageFaultError by instanceof, on threads and in a hunt", () => {
    // The worker and the command line are bundles: the kernel that throws is another copy
    // of the package than the one the scenario imports.
    writeFileSync(join(project, 'catching.ts'), catching);
    expectSound('catching.ts');
    const hunt = vmmsim('hunt', 'catching.ts', '--runs', '5', '--jobs', '1', '--no-progress');
    expect(hunt.out).toContain('0 failure(s)');
    expect(hunt.code).toBe(0);
  });

  it('gives the scenarios their types (DeviceActor, defineScenario); a wrong one is caught', () => {
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(tsconfig));
    expect(tsc()).toEqual({ code: 0, out: '' });
    writeFileSync(join(project, 'wrong.ts'), `${typed}const n: number = 'vmmsim';\n`);
    const wrong = tsc();
    rmSync(join(project, 'wrong.ts'));
    expect(wrong.out).toMatch(
      /wrong\.ts\(\d+,\d+\): error TS2322: Type 'string' is not assignable/,
    );
  });

  it('runs .ts and .js scenarios once the folder is an ES module package', () => {
    npm(project, 'pkg', 'set', 'type=module');
    try {
      expectSound('typed.ts');
      expectSound('esm.js');
    } finally {
      npm(project, 'pkg', 'set', 'type=commonjs');
    }
  });
});

describe('vmmsim init in that folder', () => {
  it('writes the starter, keeps package.json, and its scenarios type-check', () => {
    rmSync(join(project, 'tsconfig.json'));
    const manifest = readFileSync(join(project, 'package.json'), 'utf8');
    const { code, out } = vmmsim('init', '.');
    expect(code).toBe(0);
    expect(out).toContain('kept the package.json that was there');
    expect(readFileSync(join(project, 'package.json'), 'utf8')).toBe(manifest);
    for (const file of ['device.ts', 'race.ts', 'README.md', 'tsconfig.json', '.gitignore'])
      expect(readdirSync(project)).toContain(file);
    expect(tsc()).toEqual({ code: 0, out: '' });
  });

  it('runs the device scenario at once', () => {
    const { code, out } = vmmsim('run', 'device.ts', '--calls', '3000', '--no-progress');
    expect(out).toContain('vmmsim run: my device');
    expect(out).toContain('Invariants: sound');
    expect(code).toBe(0);
  });

  it('hunts the race, replays it, and with TAKE_TURNS the hunt finds nothing', () => {
    const hunt = vmmsim('hunt', 'race.ts', '--runs', '60', '--jobs', '1', '--no-progress');
    expect(hunt.out).toMatch(/FAILURE \(seed \d+, step \d+.*\): violation: \[lost-frame\]/);
    expect(hunt.code).toBe(1);
    // the command the hunt printed, whole (a scenario beside replays/ is named with --scenario)
    const printed = /reproduce: +npx vmmsim (replay .+)$/m.exec(hunt.out)![1]!;
    const replay = vmmsim(...printed.trim().split(/ +/));
    expect(replay.out).toContain('reproduced exactly: same failure, same trace hash');
    expect(replay.code).toBe(1);
    const race = join(project, 'race.ts');
    const source = readFileSync(race, 'utf8');
    expect(source).toContain('const TAKE_TURNS = false;');
    writeFileSync(race, source.replace('const TAKE_TURNS = false;', 'const TAKE_TURNS = true;'));
    const fixed = vmmsim('hunt', 'race.ts', '--runs', '60', '--jobs', '1', '--no-progress');
    expect(fixed.out).toContain('60 runs');
    expect(fixed.out).toContain('0 failure(s)');
    expect(fixed.code).toBe(0);
  });
});
