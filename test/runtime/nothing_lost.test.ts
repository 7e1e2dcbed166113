// Nothing lost: reports, traces and replay files are written whole or not at all, and a run
// or a hunt stopped by SIGINT or SIGTERM still writes what it has, says it is partial, and
// exits 130.
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/shared/atomic_write.js';

const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'src', 'main', 'cli', 'bin.js');
const scratch = mkdtempSync(join(tmpdir(), 'vmmsim-nothing-lost-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Starts the CLI, sends `signal` after `afterMs`, and resolves when it exits. */
async function interrupted(args: string[], signal: NodeJS.Signals, afterMs: number) {
  const child = spawn(process.execPath, [cli, ...args], { cwd: root });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  await new Promise((resolve) => setTimeout(resolve, afterMs));
  child.kill(signal);
  return { code: await exited, out, err };
}

describe('writeFileAtomic', () => {
  it('replaces a file whole and leaves no temporary file behind', () => {
    const path = join(scratch, 'whole.json');
    writeFileSync(path, 'old');
    writeFileAtomic(path, '{"new":true}\n');
    expect(readFileSync(path, 'utf8')).toBe('{"new":true}\n');
    expect(readdirSync(scratch).filter((name) => name.includes('.tmp-'))).toEqual([]);
  });

  it('a write that fails at the rename leaves the target as it was, and no temporary file', () => {
    const target = join(scratch, 'target');
    mkdirSync(target);
    writeFileSync(join(target, 'inside'), 'kept');
    expect(() => writeFileAtomic(target, 'new')).toThrow(); // a file cannot replace a folder
    expect(readFileSync(join(target, 'inside'), 'utf8')).toBe('kept');
    expect(readdirSync(scratch).filter((name) => name.includes('.tmp-'))).toEqual([]);
  });
});

describe('interrupted runs keep what they have', () => {
  it('SIGINT to `vmmsim run --report f --trace t`: f is complete, parseable, marked interrupted; exit 130', async () => {
    const report = join(scratch, 'run.json');
    const trace = join(scratch, 'run.trace.json');
    const args = ['run', '--calls', '100000000', '--no-progress', '--report', report];
    const { code, out, err } = await interrupted([...args, '--trace', trace], 'SIGINT', 3000);
    expect(err).toMatch(/SIGINT: stopping the run/);
    expect(err).toMatch(/report: written to .*run\.json \(partial: the run was interrupted\)/);
    expect(err).toMatch(/trace: \d+ events written to .* \(partial: the run was interrupted\)/);
    expect(out).toContain('INTERRUPTED: the run phase was stopped early');
    const saved = JSON.parse(readFileSync(report, 'utf8')) as Record<string, unknown>;
    expect(saved).toMatchObject({ scenario: 'default', interrupted: true, violations: [] });
    expect(saved['calls']).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(trace, 'utf8'))).toHaveProperty('traceEvents');
    expect(code).toBe(130);
  }, 60_000);

  it('SIGTERM to `vmmsim hunt --report f`: the pool stops, f says interrupted; exit 130', async () => {
    const report = join(scratch, 'hunt.json');
    const replays = join(scratch, 'replays');
    const args = ['hunt', '--runs', '1000000', '--jobs', '1', '--no-progress'];
    const { code, out, err } = await interrupted(
      [...args, '--out', replays, '--report', report],
      'SIGTERM',
      3000,
    );
    expect(err).toMatch(/SIGTERM: stopping the hunt/);
    expect(err).toMatch(/report: written to .*hunt\.json \(partial: the hunt was interrupted\)/);
    expect(out).toMatch(/INTERRUPTED: stopped after \d+ of 1000000 runs; no failure in those/);
    const saved = JSON.parse(readFileSync(report, 'utf8')) as Record<string, number | boolean>;
    expect(saved).toMatchObject({ scenario: 'default', interrupted: true, runsPlanned: 1000000 });
    expect(saved['runs']).toBeLessThan(1000000);
    expect(existsSync(replays)).toBe(false); // nothing found, nothing written
    expect(code).toBe(130);
  }, 60_000);
});
