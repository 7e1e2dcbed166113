// Nothing lost, large (opt-in: npm run test:stress): `vmmsim run --report --trace` and
// `vmmsim hunt --report` stopped by SIGINT or SIGTERM at moments spread over start-up, init,
// the run and the teardown (VMMSIM_SIGNAL_RUNS of each). Every time: the process ends, and
// each output file is either absent (stopped before it was due) or whole and parseable,
// never half-written, and no temporary file is left beside it.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const RUNS = Number(process.env.VMMSIM_SIGNAL_RUNS ?? 12);
const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'src', 'main', 'cli', 'bin.js');
const scratch = mkdtempSync(join(tmpdir(), 'vmmsim-signals-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function stopAt(args: string[], signal: NodeJS.Signals, afterMs: number) {
  const child = spawn(process.execPath, [cli, ...args], { cwd: root, stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  await new Promise((resolve) => setTimeout(resolve, afterMs));
  child.kill(signal);
  const bound = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 60_000));
  return Promise.race([exited, bound]);
}

/** Absent, or whole JSON; and no temporary file left in the folder. */
function wholeOrAbsent(path: string): 'absent' | 'whole' {
  expect(readdirSync(scratch).filter((name) => name.includes('.tmp-'))).toEqual([]);
  if (!existsSync(path)) return 'absent';
  JSON.parse(readFileSync(path, 'utf8'));
  return 'whole';
}

describe('signals at any moment (opt-in)', () => {
  it(`${RUNS} runs and ${RUNS} hunts stopped at spread-out moments: whole files or none`, async () => {
    const seen = { absent: 0, whole: 0 };
    for (let i = 0; i < RUNS; i++) {
      const afterMs = 100 + ((i * 397) % 4000); // 0.1 s to 4 s: start-up to the run phase
      const signal = i % 2 === 0 ? 'SIGINT' : 'SIGTERM';
      const report = join(scratch, `run-${i}.json`);
      const trace = join(scratch, `run-${i}.trace.json`);
      const args = ['run', '--calls', '300000', '--no-progress', '--report', report];
      const code = await stopAt([...args, '--trace', trace], signal, afterMs);
      expect(code).not.toBe('hung');
      seen[wholeOrAbsent(report)] += 1;
      seen[wholeOrAbsent(trace)] += 1;
      const huntReport = join(scratch, `hunt-${i}.json`);
      const hunt = ['hunt', '--runs', '1000000', '--jobs', '1', '--no-progress'];
      const huntCode = await stopAt(
        [...hunt, '--out', join(scratch, `replays-${i}`), '--report', huntReport],
        signal,
        afterMs,
      );
      expect(huntCode).not.toBe('hung');
      seen[wholeOrAbsent(huntReport)] += 1;
    }
    console.log(`signals: ${seen.whole} files whole, ${seen.absent} not yet due, 0 half-written`);
    expect(seen.whole).toBeGreaterThan(0);
  }, 1_800_000);
});
