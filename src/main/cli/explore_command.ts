/**
 * The `explore` and `merge` commands: parsing and printing only; the work is in
 * explore_run.ts and merge.ts. Exit codes: 0 nothing found (for explore, a bounded proof),
 * 1 a failure found, 2 bad input, 130 interrupted without a failure.
 */
import { availableParallelism } from 'node:os';
import { Command, Option } from 'commander';
import { terminalJson } from '../../shared/printable.js';
import { loadScenario, printable } from '../../shared/scenario/load.js';
import {
  intOption,
  outputFolder,
  reportOptions,
  shard,
  checkEveryOption,
  type PoolRunFlags,
} from './cli_options.js';
import { Explore, type ExploreReport } from '../controlled/explore_run.js';
import { interruptOnSignals } from '../runtime/interrupt.js';
import { mergeReports } from '../controlled/merge.js';
import {
  failureWhere,
  guarded,
  printMerged,
  reproduce,
  stackText,
  writeOut,
} from './race_output.js';
import { saveOutput } from './run_command.js';
import { scenarioSource } from '../runtime/run_scenario.js';

interface ExploreFlags extends PoolRunFlags {
  preemptions: number;
  steps: number;
  seed: number;
  checkEvery: number;
}

function printExplore(r: ExploreReport): void {
  const seconds = (r.elapsedMs / 1000).toFixed(2);
  const part =
    r.shard.count > 1 ? ` (shard ${r.shard.index}/${r.shard.count}: ${r.chunksDone} of ` : '';
  const chunks = r.shard.count > 1 ? `${r.chunks} chunks of the tree)` : '';
  writeOut(
    `explore: ${r.scenario}: at most ${r.preemptions} preemption(s), --steps ${r.stepsMax}, ` +
      `seed ${r.seed}${part}${chunks}\n` +
      `  ${r.explored} schedules explored, ${r.pruned} pruned (equivalent to explored ones) ` +
      `in ${seconds} s on ${r.jobs} threads\n`,
  );
  if (r.interrupted) writeOut('INTERRUPTED: the tree was not explored whole\n');
  const f = r.failure;
  if (f !== undefined) {
    writeOut(
      `\nFAILURE (${f.preemptions} preemption(s), ${failureWhere(f.failure, r.stepsMax)}): ` +
        `${f.failure.kind}: ${printable(f.failure.message)}\n${stackText(f.failure)}` +
        `  replay file: ${f.replayPath}\n  reproduce:   ${reproduce(f.replayPath)}\n`,
    );
  } else if (!r.interrupted) {
    const of = r.shard.count > 1 ? ' of this shard' : '';
    writeOut(
      `no failure in ${r.explored + r.pruned} schedules${of} with at most ` +
        `${r.preemptions} preemption(s)\n`,
    );
  }
}

async function explore(path: string | undefined, flags: ExploreFlags): Promise<number> {
  const source = scenarioSource(path, {});
  const scenario = await loadScenario(source);
  const stop = interruptOnSignals('explore');
  const report = await new Explore(source, scenario, {
    preemptions: flags.preemptions,
    stepsMax: flags.steps,
    seed: flags.seed,
    checkEvery: flags.checkEvery,
    shard: flags.shard,
    jobs: flags.jobs,
    outDir: flags.out,
    signal: stop.signal,
  })
    .run()
    .finally(() => stop.dispose());
  const json = `${JSON.stringify({ kind: 'explore', ...report }, null, 2)}\n`;
  const saved =
    flags.report === undefined ||
    saveOutput(flags.report, json, `report: written to ${flags.report}`);
  if (flags.json) process.stdout.write(terminalJson(json));
  else printExplore(report);
  const code = report.failure !== undefined ? 1 : report.interrupted ? 130 : 0;
  return saved || code !== 0 ? code : 1;
}

function addExploreCommand(cli: Command): void {
  const command = cli
    .command('explore')
    .argument('[scenario]', 'a scenario file or module (default: the built-in default scenario)')
    .summary('every schedule up to a preemption bound, with partial-order reduction')
    .description(
      'Runs every schedule of the scenario with at most --preemptions preemptions (a ' +
        'preemption: another actor moves while the last one could have gone on), fewest ' +
        'first, on a thread pool. Schedules that differ only in the order of steps that ' +
        'commute (their footprints of pages, frames, RAM and shared words do not conflict) ' +
        'reach the same state and are explored once. A failure is written as a replay file; ' +
        'no failure is a bounded proof. Exit code 0 when nothing was found, 1 when a failure ' +
        'was, 2 on bad input, 130 when interrupted.',
    )
    .addOption(intOption('--preemptions <k>', 'preemption bound', 2, 0, 10))
    .addOption(
      intOption('--steps <n>', 'scheduling decisions that start new steps', 40, 1, 100_000),
    )
    .addOption(intOption('--seed <n>', "seed of the actors' generators", 1, 0, 0xffffffff))
    .addOption(checkEveryOption())
    .addOption(
      new Option('--shard <i/n>', 'explore only the chunks c of the tree with c mod n = i')
        .default({ index: 0, count: 1 }, '0/1')
        .argParser(shard),
    )
    .addOption(intOption('--jobs <n>', 'pool threads', availableParallelism(), 1, 64))
    .addOption(
      new Option('--out <dir>', 'where replay files go')
        .default('replays')
        .argParser(outputFolder('--out')),
    );
  for (const option of reportOptions()) command.addOption(option);
  command.action((path: string | undefined, flags: ExploreFlags) =>
    guarded(() => explore(path, flags)),
  );
}

function addMergeCommand(cli: Command): void {
  cli
    .command('merge')
    .argument('<reports...>', 'report files (--report) of the shards of one hunt or explore')
    .summary('join the shard reports of a hunt or explore into one summary')
    .description(
      'Reads the --report files of the shards of one hunt (or one explore) and prints one ' +
        'summary: runs or schedules added up, each distinct failure once with the runs that ' +
        'hit it, the earliest first. Exit code 0 when no shard found a failure, 1 when one ' +
        'did, 2 on bad input (a missing or foreign file, shards of different searches).',
    )
    .addOption(new Option('--json', 'print the summary as JSON').default(false))
    .action((paths: string[], flags: { json: boolean }) =>
      guarded(async () => {
        const merged = mergeReports(paths);
        if (flags.json) process.stdout.write(terminalJson(`${JSON.stringify(merged, null, 2)}\n`));
        else printMerged(merged);
        return merged.failures.length > 0 ? 1 : 0;
      }),
    );
}

/** explore and merge. */
export function addExploreCommands(cli: Command): void {
  addExploreCommand(cli);
  addMergeCommand(cli);
}
