// The command line as a user runs it: the built CLI, its exit codes (0 sound, 1 a violation,
// 2 bad input before any work), and errors that name the option or the field.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'src', 'main', 'cli', 'bin.js');
const scratch = mkdtempSync(join(tmpdir(), 'vmmsim-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function vmmsim(...args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

function scenarioFile(name: string, content: unknown): string {
  const file = join(scratch, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

describe('vmmsim run: exit codes', () => {
  it('runs the built-in default scenario and exits 0 when sound', () => {
    const { code, out } = vmmsim('run', '--calls', '5000', '--no-progress');
    expect(out).toContain('vmmsim run: default');
    expect(out).toContain('Invariants: sound');
    expect(code).toBe(0);
  });

  it('exits 1 on a planted bug and names the device, the page and the frame', () => {
    const { code, out } = vmmsim(
      'run',
      'scenarios/planted-lost-frame.json',
      '--calls',
      '20000',
      '--no-progress',
    );
    expect(out).toMatch(
      /\[lost-frame\] device PAGESWAP: frame [0-9A-F]+h taken from page [0-9A-F]+h/,
    );
    expect(code).toBe(1);
  });

  it('--json prints the report as JSON', () => {
    const { code, out } = vmmsim('run', '--calls', '2000', '--json');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ scenario: 'default', violations: [] });
  });
});

describe('vmmsim run: interrupted', () => {
  it('SIGINT ends the run phase; the run still finishes, checks, reports, and exits 130', async () => {
    const child = spawn(process.execPath, [cli, 'run', '--calls', '100000000', '--no-progress'], {
      cwd: root,
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await new Promise((resolve) => setTimeout(resolve, 2500));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(out).toContain('INTERRUPTED: the run phase was stopped early');
    expect(out).toContain('Invariants: sound');
    expect(code).toBe(130);
  }, 60_000);
});

describe('vmmsim run: bad input is exit 2, one sentence naming the problem, no stack', () => {
  const cases: [string, () => string[], RegExp][] = [
    [
      'a scenario file that does not exist',
      () => ['run', join(scratch, 'nope.json')],
      /nope\.json: no such file/,
    ],
    [
      'a file that is not JSON',
      () => ['run', scenarioFile('broken.json', '{ "name": ')],
      /not valid JSON/,
    ],
    [
      'an unknown model, naming the field',
      () => [
        'run',
        scenarioFile('model.json', { name: 'x', devices: [{ model: 'floppy' }], vms: [] }),
      ],
      /devices\.0\.model/,
    ],
    [
      'a model option of the wrong type, naming it',
      () => [
        'run',
        scenarioFile('opt.json', {
          name: 'x',
          devices: [{ model: 'cache', options: { regionPages: 'many' } }],
          vms: [],
        }),
      ],
      /devices\.0\.options\.regionPages/,
    ],
    [
      'an unknown top-level key',
      () => [
        'run',
        scenarioFile('key.json', { name: 'x', devices: [{ model: 'cache' }], vms: [], cpus: 4 }),
      ],
      /cpus|Unrecognized key/,
    ],
    ['--calls 0', () => ['run', '--calls', '0'], /--calls must be an integer from 1/],
    ['--locking coarse', () => ['run', '--locking', 'coarse'], /--locking.*coarse.*global, fine/],
    [
      '--vms beyond the machine',
      () => ['run', '--vms', '64'],
      /too many VMs \(64\): the machine holds 31/,
    ],
    ['an unknown option', () => ['run', '--turbo'], /unknown option '--turbo'/],
  ];
  it.each(cases)('%s', (_title, args, message) => {
    const { code, err, out } = vmmsim(...args());
    expect(err).toMatch(message);
    expect(err).not.toMatch(/\n\s+at /); // no stack trace
    expect(out).toBe('');
    expect(code).toBe(2);
  });

  it('--help answers: the commands, the options, the exit codes', () => {
    const top = vmmsim('--help');
    expect(top.code).toBe(0);
    expect(top.out).toMatch(/run \[options\] \[scenario\]/);
    const run = vmmsim('run', '--help');
    expect(run.out).toMatch(/--locking <policy>/);
    expect(run.out).toMatch(/Exit code 0 when sound, 1\s+when an invariant broke/);
  });
});

describe('vmmsim run --inject and vmmsim soak', () => {
  it('run --inject exit: exit 1, the owner-dead lock named with worker, service and phase', () => {
    const { code, out } = vmmsim(
      'run',
      '--inject',
      'exit',
      '--inject-at',
      '30',
      '--devices',
      '2',
      '--vms',
      '1',
      '--calls',
      '5000',
      '--no-progress',
    );
    expect(out).toMatch(/RUN FAILED: \S+ exited during run/);
    expect(out).toMatch(/OWNER-DEAD: .*lock.*, held by \S+ in \S+.* during run/);
    expect(out).toMatch(/Injected fault: exit at lock acquisition 30 of the run phase, in \S+/);
    expect(out).toMatch(/wait-for graph/);
    expect(code).toBe(1);
  });

  it('soak: two runs with faults, every one explained, exit 0 and a summary', () => {
    const { code, out } = vmmsim(
      ...['soak', '--runs', '2', '--fault-every', '1', '--faults', 'throw,terminate'],
      ...['--devices', '2', '--vms', '1', '--calls', '5000', '--inject-at-max', '50'],
    );
    expect(out).toMatch(/vmmsim soak: 2 runs/);
    expect(out).toMatch(/throw {5}fired 1, classified 1/);
    expect(out).toMatch(/terminate fired 1, classified 1/);
    expect(out).toMatch(/unexplained outcomes: 0/);
    expect(out).toMatch(/sampled after a collection/);
    expect(code).toBe(0);
  });

  it('soak --faults with an unknown fault: exit 2 naming it', () => {
    const { code, err } = vmmsim('soak', '--faults', 'throw,explode');
    expect(err).toMatch(/--faults: explode is not one of throw, exit, terminate, hang, invert/);
    expect(code).toBe(2);
  });
});
