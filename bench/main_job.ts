/**
 * The main job as a user runs it, through the package's bin in a child process: how long
 * `vmmsim run --calls 1` takes on the default scenario (start-up: workers, control
 * messages, report, exit), and how many calls per second the default scenario's run phase
 * makes with its full budget. Each run must exit 0 with the invariants sound.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../src/main/runtime/run_scenario.js';

export interface MainJob {
  /** Wall milliseconds of each `vmmsim run --calls 1`, in the order run. */
  startupMs: number[];
  startupMedianMs: number;
  /** The default scenario with its own budget: run-phase calls and milliseconds. */
  scenario: { calls: number; runMs: number; callsPerSecond: number };
}

/** The package's bin, as package.json names it (what `npx vmmsim` starts). */
function binPath(): string {
  const root = packageRoot();
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return join(root, manifest.bin.vmmsim);
}

function vmmsimRun(
  bin: string,
  args: string[],
): { wallMs: number; report: { calls: number; runMs: number } } {
  const started = performance.now();
  const child = spawnSync(process.execPath, [bin, 'run', ...args], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    timeout: 120_000,
  });
  const wallMs = performance.now() - started;
  if (child.status !== 0)
    throw new Error(`vmmsim run ${args.join(' ')} exited ${child.status}: ${child.stderr}`);
  const report = JSON.parse(child.stdout) as { calls: number; runMs: number; violations: [] };
  if (report.violations.length > 0) throw new Error('the default scenario was not sound');
  return { wallMs, report };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

/** Seven start-ups (three with `quick`), then the default scenario once. */
export function runMainJob(quick: boolean): MainJob {
  const bin = binPath();
  vmmsimRun(bin, ['--calls', '1', '--json']); // the page cache warm, as for a user's second run
  const startupMs: number[] = [];
  for (let i = 0; i < (quick ? 3 : 7); i++)
    startupMs.push(vmmsimRun(bin, ['--calls', '1', '--json']).wallMs);
  const { report } = vmmsimRun(bin, ['--json']);
  return {
    startupMs,
    startupMedianMs: median(startupMs),
    scenario: {
      calls: report.calls,
      runMs: report.runMs,
      callsPerSecond: report.calls / (report.runMs / 1000),
    },
  };
}
