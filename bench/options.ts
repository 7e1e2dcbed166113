/**
 * The options of `vmmsim bench` (what `npm run bench` runs): parsing only, so that the
 * command line can list them without loading the benchmarks. The suite is in run.ts.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';

export const GROUPS = ['micro', 'scaling', 'baseline', 'job', 'races'] as const;
export type Group = (typeof GROUPS)[number];

export interface BenchFlags {
  quick: boolean;
  json?: string;
  svg?: string;
  only?: Group;
  workers?: number[];
}

export const BENCH_DESCRIPTION =
  'The vmmsim benchmark suite: micro-benchmarks of every service next to the lock floor ' +
  '(mitata, one thread), scaling with 1–16 worker threads (own regions, one shared ' +
  'region, the default scenario) under both locking policies, and the message-passing ' +
  'baseline; the main job as users run it (start-up of `vmmsim run --calls 1`, the default ' +
  "scenario's calls per second) and race reproduction (controlled runs per second, hunt " +
  'scaling). Prints tables and the targets with their measured values; writes a JSON ' +
  'record and an SVG chart. Exit code 0 when every benchmark measured a succeeding ' +
  'path, even if a target is missed (MISS is printed: timing never decides); 1 when a ' +
  'correctness check failed; 2 on bad options.';

function workerList(value: string): number[] {
  const counts = value.split(',').map((v) => Number(v));
  if (counts.length === 0 || counts.some((n) => !Number.isInteger(n) || n < 1 || n > 64))
    throw new InvalidArgumentError('--workers is a comma-separated list of integers from 1 to 64.');
  if (counts[0] !== 1)
    throw new InvalidArgumentError('--workers must start with 1 (the reference).');
  return counts;
}

/** --quick, --only, --json, --svg, --workers. */
export function addBenchOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--quick',
        'short windows, one repeat, baseline at 1 and 2 workers: under a minute, noisier',
      ).default(false),
    )
    .addOption(new Option('--only <group>', 'run one group').choices(GROUPS))
    .addOption(
      new Option(
        '--json <path>',
        'JSON record (default bench/results/latest.json, or quick.json; installed: vmmsim-bench/)',
      ),
    )
    .addOption(new Option('--svg <path>', 'scaling chart (default bench/results/scaling.svg)'))
    .addOption(
      new Option('--workers <list>', 'worker counts, e.g. 1,2,4 (default 1,2,4,8,16)').argParser(
        workerList,
      ),
    );
}
