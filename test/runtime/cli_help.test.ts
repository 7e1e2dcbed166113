// The command line around its commands: an example at the end of every command's --help,
// an unknown command refused with the nearest one (exit 2), `vmmsim init` and its refusals,
// and `vmmsim bench`'s options (parsed, never run: timing has no place in the suite).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'src', 'main', 'cli', 'bin.js');
const scratch = mkdtempSync(join(tmpdir(), 'vmmsim-help-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function vmmsim(...args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], {
    cwd: scratch,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

const commands = (): string[] =>
  [...vmmsim('--help').out.matchAll(/^ {2}([a-z]+) /gm)]
    .map((m) => m[1]!)
    .filter((name) => name !== 'help');

describe('help', () => {
  it('lists init and bench beside the other commands', () => {
    expect(commands()).toEqual(expect.arrayContaining(['run', 'hunt', 'replay', 'init', 'bench']));
  });

  it("ends every command's --help with an example of that command", () => {
    for (const name of commands()) {
      const { code, out } = vmmsim(name, '--help');
      expect(code, name).toBe(0);
      const last = out.trimEnd().split('\n').slice(-4).join('\n');
      expect(last, name).toMatch(new RegExp(`Examples?:\\n(  \\$ npx vmmsim ${name}.*\\n?)+$`));
    }
  });

  it('ends the general help with examples of a first session', () => {
    const { code, out } = vmmsim('--help');
    expect(code).toBe(0);
    expect(out.trimEnd()).toMatch(/Examples:\n(  \$ npx vmmsim .*\n?){3}$/);
  });

  it('prints the version from package.json', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(vmmsim('--version').out.trim()).toBe(manifest.version);
  });
});

describe('an unknown command', () => {
  it('is an error, exit 2, naming the nearest command', () => {
    const typo = vmmsim('hnut', 'x.ts');
    expect(typo.err).toBe(
      "error: unknown command 'hnut'. Did you mean 'hunt'? Commands: " +
        `${commands().join(', ')}, help.\n`,
    );
    expect(typo.code).toBe(2);
    expect(vmmsim('benchmark', '--help').err).toContain("Did you mean 'bench'?");
    expect(vmmsim('benchmark', '--help').code).toBe(2);
    expect(vmmsim('help', 'benh').err).toContain("unknown command 'benh'. Did you mean 'bench'?");
    expect(vmmsim('help', 'benh').code).toBe(2);
  });

  it('shows no control characters from the word', () => {
    const { err, code } = vmmsim('r\u001b[31mun');
    expect(err).toContain("unknown command 'r?[31mun'");
    expect(code).toBe(2);
  });
});

describe('vmmsim bench', () => {
  it('has --quick, --only and --json, and refuses a bad group before any work', () => {
    const help = vmmsim('bench', '--help').out;
    for (const option of ['--quick', '--only <group>', '--json <path>']) {
      expect(help).toContain(option);
    }
    const bad = vmmsim('bench', '--only', 'everything');
    expect(bad.err).toContain("argument 'everything' is invalid");
    expect(bad.code).toBe(2);
    const workers = vmmsim('bench', '--workers', '2,4');
    expect(workers.err).toContain('--workers must start with 1');
    expect(workers.code).toBe(2);
  });

  it('reaches the suite the command runs (loaded, not run)', async () => {
    const suite = await import(join(root, 'dist', 'bench', 'run.js'));
    expect(typeof suite.bench).toBe('function');
  });
});

describe('vmmsim init', () => {
  it('writes the starter folder, with a package.json of its own when there is none', () => {
    const dir = join(scratch, 'starter');
    const { code, out } = vmmsim('init', dir);
    expect(code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual([
      '.gitignore',
      'README.md',
      'device.ts',
      'package.json',
      'race.ts',
      'tsconfig.json',
    ]);
    expect(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))).toMatchObject({
      name: 'starter',
      type: 'module',
      scripts: { start: 'vmmsim run device.ts', hunt: 'vmmsim hunt race.ts' },
    });
    expect(out).toContain('npx vmmsim hunt race.ts');
  });

  it('comments every callback of the device scenario', () => {
    const device = readFileSync(join(root, 'templates', 'init', 'device.ts'), 'utf8');
    for (const callback of ['control', 'step', 'interrupt', 'finish']) {
      expect(device).toMatch(
        new RegExp(`// [^\\n]*\\n(\\s*//[^\\n]*\\n)*\\s*async ${callback}\\(`),
      );
    }
  });

  it('writes nothing when a file it would write is there, and says which (exit 2)', () => {
    const dir = join(scratch, 'taken');
    mkdirSync(dir);
    writeFileSync(join(dir, 'race.ts'), 'mine');
    const { code, err } = vmmsim('init', dir);
    expect(err).toBe(
      `error: init ${dir}: race.ts already there; nothing written (choose another folder ` +
        'or move them).\n',
    );
    expect(code).toBe(2);
    expect(readdirSync(dir)).toEqual(['race.ts']);
  });

  it('refuses a file as the folder', () => {
    const file = join(scratch, 'a-file');
    writeFileSync(file, '');
    const { code, err } = vmmsim('init', file);
    expect(err).toBe(`error: init ${file}: a file, not a folder.\n`);
    expect(code).toBe(2);
  });
});
