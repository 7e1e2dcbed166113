// The explore and merge commands from the command line (built: run after `npm run build`):
// a bounded proof is exit 0 and says so; a failure is exit 1 with the command that replays
// it; shard reports merge; bad input to merge is one sentence, exit 2.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'src', 'main', 'cli', 'bin.js');
const out = mkdtempSync(join(tmpdir(), 'vmmsim-explore-cli-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function vmmsim(...args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

const race = (name: string) => join('scenarios', 'races', name);

describe('vmmsim explore and merge', () => {
  it('a fixed race: a bounded proof, exit 0; its shards merge into the same count', () => {
    const common = ['--steps', '16', '--jobs', '1', '--out', out, '--no-progress'];
    const whole = vmmsim('explore', race('dropped-frame.fixed.ts'), ...common);
    expect(whole.code).toBe(0);
    const proof = /no failure in (\d+) schedules with at most 2 preemption\(s\)/.exec(whole.out);
    expect(proof).not.toBeNull();
    const reports = [0, 1].map((i) => join(out, `explore-${i}.json`));
    for (const [i, report] of reports.entries()) {
      const shard = vmmsim(
        'explore',
        race('dropped-frame.fixed.ts'),
        ...common,
        '--shard',
        `${i}/2`,
        '--report',
        report,
      );
      expect(shard.code).toBe(0);
    }
    const merged = vmmsim('merge', ...reports);
    expect(merged.code).toBe(0);
    expect(merged.out).toContain(`no failure in ${proof![1]} schedules`);
  });

  it('a race: exit 1, the replay file and the command that replays it', () => {
    const found = vmmsim(
      'explore',
      race('uncoordinated-compaction.ts'),
      '--out',
      out,
      '--jobs',
      '1',
    );
    expect(found.code).toBe(1);
    const command = /reproduce: {3}npx vmmsim (replay \S+)/.exec(found.out);
    expect(command).not.toBeNull();
    const replay = vmmsim(...command![1]!.split(' '), '--print');
    expect(replay.code).toBe(1);
    expect(replay.out).toContain('reproduced exactly: same failure, same trace hash');
  });

  it('merge: a file that is not a report is one sentence, exit 2', () => {
    const bad = vmmsim('merge', join(root, 'package.json'));
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^error: .*package\.json: not a hunt or explore report/);
    expect(bad.err.trim().split('\n')).toHaveLength(1);
  });
});
