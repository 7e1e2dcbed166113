// Dead ends of issue 11, through the built CLI: files that are not regular files, output
// folders where nothing can be written, a machine too small for its VMs, more workers than
// actor slots, hostile default exports, escape sequences in names, a failure that lost what
// ran before it, and temporary files a killed writer left. Each ends in one clear sentence
// and its exit code, within its bound, or in a run that does what the scenario asks.
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  watch,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'src', 'main', 'cli', 'bin.js');
const scratch = mkdtempSync(join(tmpdir(), 'vmmsim-dead-ends-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const run = promisify(execFile);

/** The CLI's exit code and output; killed (and failed) after `timeoutMs`. */
async function vmmsim(args: string[], timeoutMs = 60_000) {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], {
      cwd: scratch,
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    return { code: 0, out: stdout, err: stderr };
  } catch (error) {
    const e = error as { code?: number; killed?: boolean; stdout: string; stderr: string };
    expect(e.killed, `vmmsim ${args.join(' ')} did not end in ${timeoutMs} ms`).not.toBe(true);
    return { code: e.code ?? -1, out: e.stdout, err: e.stderr };
  }
}

function file(name: string, content: string | object): string {
  const path = join(scratch, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const small = (extra: object = {}): object => ({
  name: 'small',
  machine: { ramPages: 512 },
  budget: { calls: 300, seconds: 20 },
  devices: [{ model: 'cache' }],
  vms: [{ model: 'dos-vm', count: 2 }],
  ...extra,
});

/** One line on stderr, no stack trace. */
function oneSentence(err: string): void {
  expect(err.trim().split('\n')).toHaveLength(1);
  expect(err).not.toMatch(/\n\s+at /);
}

describe('scenario files that are not regular files are refused before they are opened', () => {
  it.each(['fifo.json', 'fifo.ts'])('a FIFO as %s: exit 2 at once, naming it', async (name) => {
    const fifo = join(scratch, name);
    execFileSync('mkfifo', [fifo]);
    const r = await vmmsim(['run', fifo], 15_000);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${fifo}: a FIFO, not a regular file`);
    oneSentence(r.err);
  });

  it.each(['zero.json', 'zero.ts'])('/dev/zero behind a link %s: exit 2 at once', async (name) => {
    const link = join(scratch, name);
    symlinkSync('/dev/zero', link);
    const r = await vmmsim(['run', link], 15_000);
    expect(r.code).toBe(2);
    expect(r.err).toContain('a device, not a regular file');
    oneSentence(r.err);
  });
});

describe('every wait is bounded and interruptible', () => {
  it('Ctrl-C while a module never finishes loading (a timer alive): exit 130 at once', async () => {
    const marker = join(scratch, 'loading');
    const path = file(
      'never.mjs',
      `import { writeFileSync } from 'node:fs';
      writeFileSync(${JSON.stringify(marker)}, '');
      await new Promise(() => setInterval(() => {}, 1000));
      export default {};`,
    );
    const child = spawn(process.execPath, [cli, 'run', path], { cwd: scratch });
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const ended = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const started = Date.now();
    while (!existsSync(marker) && Date.now() - started < 30_000) await sleep(50);
    child.kill('SIGINT');
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await ended;
    clearTimeout(killer);
    expect(code).toBe(130);
    expect(err).toContain('interrupted while the module loaded');
  });
});

describe('an output folder where nothing can be written is refused before any work', () => {
  it('hunt --out through a link to nothing: exit 2, naming it', async () => {
    const link = join(scratch, 'dangling');
    symlinkSync(join(scratch, 'nowhere'), link);
    const r = await vmmsim(['hunt', join(root, 'scenarios/races/dropped-frame.ts'), '--out', link]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${link} is a link to nothing`);
    expect(r.out).toBe('');
  });

  it('hunt --out /proc/x and run --report /proc/x.json: exit 2, naming the folder', async () => {
    const hunt = await vmmsim(
      ['hunt', join(root, 'scenarios/races/dropped-frame.ts'), '--out', '/proc/x'],
      15_000,
    );
    expect(hunt.code).toBe(2);
    expect(hunt.err).toContain('/proc');
    const report = await vmmsim(['run', '--report', '/proc/x.json'], 15_000);
    expect(report.code).toBe(2);
    expect(report.err).toContain('nothing can be written in /proc');
  });
});

describe('probing an output folder leaves no trace in it', () => {
  it('nothing appears in the folder, even for a moment, when a run is refused', async () => {
    const folder = join(scratch, 'watched');
    mkdirSync(folder);
    const seen: (string | null)[] = [];
    const watcher = watch(folder, (_event, name) => seen.push(name));
    const r = await vmmsim([
      'run',
      join(scratch, 'missing.json'),
      '--report',
      join(folder, 'r.json'),
    ]);
    await sleep(300); // events arrive after the fact
    watcher.close();
    expect(r.code).toBe(2);
    expect(seen).toEqual([]);
    expect(readdirSync(folder)).toEqual([]);
  });
});

describe('an output file that is not a regular file is refused, not replaced', () => {
  it('run --report <a FIFO>: exit 2, the FIFO still a FIFO (as root, /dev/null is one such)', async () => {
    const fifo = join(scratch, 'out.fifo');
    execFileSync('mkfifo', [fifo]);
    const r = await vmmsim(['run', '--report', fifo], 15_000);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${fifo} is not a regular file`);
    expect(statSync(fifo).isFIFO()).toBe(true);
  });
});

describe('machines and counts the checks let through run', () => {
  it('machine.ramPages 384 (the minimum) with the default scenario: the VM without memory is not created', async () => {
    const base = JSON.parse(readFileSync(join(root, 'scenarios/default.json'), 'utf8'));
    base.machine.ramPages = 384;
    const path = file('ram384.json', base);
    const r = await vmmsim(['run', path, '--seed', '1', '--calls', '3000', '--json']);
    expect(r.err).not.toMatch(/\n\s+at /);
    const report = JSON.parse(r.out);
    expect(report.refusedVms.join()).toContain('not created: insufficient memory');
    expect(report.failure).toBeUndefined();
    expect(r.code).toBe(0);
  });

  it('as many devices and VMs as machine.actorMax allows start on their threads', async () => {
    const path = file('slots.json', small({ machine: { ramPages: 1024, actorMax: 10 } }));
    const r = await vmmsim(['run', path, '--vms', '7', '--json']);
    expect(r.err).not.toContain('too many devices and VMs');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).actors).toHaveLength(8);
  });
});

describe('hostile default exports are one sentence, exit 2', () => {
  it.each([
    ['a thenable', 'export default { then() {} };'],
    ['process.exit(0) at import', 'process.exit(0); export default {};'],
    ['a throwing then getter', "export default { get then() { throw new Error('boom'); } };"],
    [
      'a Proxy that throws',
      "export default new Proxy({}, { get() { throw new Error('trap'); } });",
    ],
  ])('%s', async (_, source) => {
    const r = await vmmsim(['run', file(`hostile${source.length}.mjs`, source)], 30_000);
    expect(r.code).toBe(2);
    oneSentence(r.err);
  });
});

describe('text from the scenario reaches the terminal without control characters', () => {
  it('a name holding ESC, NUL and RLO is printed with them replaced', async () => {
    const name = 'evil\u001b[2J\u0000\u202ename';
    const path = file('evil.json', small({ name }));
    for (const args of [[], ['--json']]) {
      const r = await vmmsim(['run', path, ...args]);
      expect(r.code).toBe(0);
      expect(r.out).not.toMatch(/[\u0000\u001b\u202e]/);
    }
  });

  it('hunt, replay --print and explore print names and messages with them replaced', async () => {
    const evil = '\u001b[2J\u0000\u202e';
    const path = file(
      'evil-race.mjs',
      `export default {
        name: 'evil${evil}race', devices: [{ kind: 'device', name: 'D${evil}EV', initOrder: 1,
          create: (dev) => ({ async step() { dev.violation('bad${evil}thing'); } }) }],
        vms: [] };`,
    );
    const out = join(dirname(path), 'replays-evil');
    const hunt = await vmmsim(['hunt', path, '--runs', '3', '--jobs', '1', '--out', out]);
    expect(hunt.code).toBe(1);
    expect(hunt.out).toContain('evil?[2J??race');
    const printed = /reproduce: +npx vmmsim (replay .+)$/m.exec(hunt.out)![1]!;
    const replay = await vmmsim([...printed.trim().split(/ +/), '--print']);
    const explore = await vmmsim(['explore', path, '--steps', '4', '--jobs', '1', '--out', out]);
    for (const r of [hunt, replay, explore]) {
      expect(r.out).toContain('D?[2J??EV');
      expect(r.out + r.err).not.toMatch(/[\u0000\u001b\u202e]/);
    }
  });
});

describe('a failure keeps what ran before it', () => {
  it('the report counts the calls each actor made before a VM threw', async () => {
    const path = file(
      'throws.mjs',
      `export default {
        name: 'throws', machine: { ramPages: 512 }, budget: { calls: 100000, seconds: 20 },
        devices: [{ kind: 'device', name: 'D', initOrder: 1,
          create: (dev) => ({ async step() { await dev.Get_VMM_Reenter_Count(); } }) }],
        vms: [{ kind: 'vm', name: 'V', create: (vm) => { let n = 0; return { async step() {
          await vm.int31({ ax: 0x0400 }); if (++n === 50) throw new Error('enough'); } }; } }],
      };`,
    );
    const r = await vmmsim(['run', path, '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out);
    expect(report.failure.message).toContain('enough');
    expect(report.actors.map((a: { name: string }) => a.name).sort()).toEqual(['D', 'V']);
    expect(
      report.actors.find((a: { name: string }) => a.name === 'V').calls,
    ).toBeGreaterThanOrEqual(50);
    expect(report.calls).toBeGreaterThanOrEqual(50);
  });
});

describe('a failure before the workers have their slots', () => {
  it('is reported, named, with each actor at 0 calls (the report used to throw)', async () => {
    const path = file(
      'workers-only.mjs',
      `import { isMainThread } from 'node:worker_threads';
      if (!isMainThread) throw new Error('not in a worker');
      export default {
        name: 'w', machine: { ramPages: 512 }, budget: { calls: 100, seconds: 20 },
        devices: [{ kind: 'device', name: 'D', initOrder: 1, create: () => ({}) }], vms: [],
      };`,
    );
    const r = await vmmsim(['run', path, '--json']);
    expect(r.code).toBe(1);
    expect(r.err).not.toMatch(/\n\s+at /);
    const report = JSON.parse(r.out);
    expect(report.failure.message).toContain('not in a worker');
    expect(report.actors).toEqual([expect.objectContaining({ name: 'D', calls: 0 })]);
  });
});

describe('temporary files of writers that died', () => {
  it('are removed when the same target is written again; a live writer’s are kept', async () => {
    const folder = join(scratch, 'reports');
    mkdirSync(folder);
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const deadPid = Number(dead.stdout.toString());
    const stale = join(folder, `.report.json.tmp-${deadPid}-1`);
    const live = join(folder, `.report.json.tmp-${process.pid}-7`);
    const other = join(folder, `.other.json.tmp-${deadPid}-1`);
    for (const path of [stale, live, other]) writeFileSync(path, '{"half":');
    const r = await vmmsim([
      'run',
      file('for-report.json', small()),
      '--report',
      join(folder, 'report.json'),
    ]);
    expect(r.code).toBe(0);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(other)).toBe(true);
    expect(readdirSync(folder)).toContain('report.json');
  });
});
