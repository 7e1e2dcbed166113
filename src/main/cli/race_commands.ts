/**
 * The race-reproduction commands of the CLI: hunt, replay, shrink. Parsing and printing
 * only; the work is in hunt.ts and replay_command.ts. Exit codes as everywhere: 0 nothing
 * found, 1 a failure found or reproduced, 2 bad input.
 */
import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import cliProgress from 'cli-progress';
import { Command, Option } from 'commander';
import { terminalJson } from '../../shared/printable.js';
import { loadScenario, printable } from '../../shared/scenario/load.js';
import {
  integer,
  outputFile,
  outputFolder,
  reportOptions,
  shard,
  intOption,
  checkEveryOption,
  type PoolRunFlags,
} from './cli_options.js';
import { type FoundFailure, Hunt, type HuntReport } from '../controlled/hunt.js';
import { failureWhere, guarded, reproduce, stackText, writeOut } from './race_output.js';
import { scheduleLines, stateLines } from './replay_print.js';
import { addExploreCommands } from './explore_command.js';
import { interruptOnSignals } from '../runtime/interrupt.js';
import { replayFile, shrinkFile } from './replay_command.js';
import { saveOutput } from './run_command.js';
import { scenarioSource } from '../runtime/run_scenario.js';
import { Trace } from '../../shared/trace.js';
import type { ControlledView } from '../controlled/controlled.js';

interface HuntFlags extends PoolRunFlags {
  runs: number;
  seed: number;
  scheduler: 'pct' | 'random';
  depth: number;
  steps: number;
  checkEvery: number;
  interrupts: number;
  keepGoing: boolean;
}

function printHunt(report: HuntReport, stepsMax: number): void {
  const rate = Math.round(report.runsPerSecond).toLocaleString('en-US');
  const seconds = (report.elapsedMs / 1000).toFixed(2);
  writeOut(
    `hunt: ${report.scenario}: ${report.runs} runs in ${seconds} s ` +
      `(${rate} runs/s on ${report.jobs} threads), ${report.failures.length} failure(s)\n`,
  );
  if (report.interrupted) {
    writeOut(
      `INTERRUPTED: stopped after ${report.runs} of ${report.runsPlanned} runs; ` +
        `${report.failures.length === 0 ? 'no failure in those' : 'the failures found so far'}\n`,
    );
  }
  const first = report.failures.reduce<FoundFailure | undefined>(
    (a, f) => (a === undefined || f.runIndex < a.runIndex ? f : a),
    undefined,
  );
  if (first !== undefined) {
    writeOut(
      `first failure: run ${first.runIndex} (seed ${first.seed}), ` +
        `after ${(first.atMs / 1000).toFixed(2)} s\n`,
    );
  }
  for (const f of report.failures) {
    const proof = f.deterministic
      ? 'replayed once more: same failure, same trace hash'
      : 'NOT deterministic on replay';
    writeOut(
      `\nFAILURE (seed ${f.seed}, ${failureWhere(f.failure, stepsMax)}): ` +
        `${f.failure.kind}: ${printable(f.failure.message)}\n${stackText(f.failure)}` +
        `  ${f.hits} of ${report.runs} runs failed this way\n  ${proof}\n` +
        `  replay file: ${f.replayPath}\n  reproduce:   ${reproduce(f.replayPath)}\n`,
    );
  }
}

/** The hunt's progress bar on a terminal; a no-op otherwise. */
function huntBar(flags: HuntFlags): {
  update: (done: number, failures: number) => void;
  stop: () => void;
} {
  if (!flags.progress || flags.json || process.stderr.isTTY !== true)
    return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      format: 'hunt [{bar}] {value}/{total} runs | {rate} runs/s | {failures} failure(s)',
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(Math.ceil(flags.runs / flags.shard.count), 0, { failures: 0, rate: 0 });
  const started = performance.now();
  const rate = (done: number): number =>
    Math.round(done / Math.max((performance.now() - started) / 1000, 0.001));
  return {
    update: (done, failures) => bar.update(done, { failures, rate: rate(done) }),
    stop: () => bar.stop(),
  };
}

async function hunt(path: string | undefined, flags: HuntFlags): Promise<number> {
  const source = scenarioSource(path, {});
  const scenario = await loadScenario(source);
  const bar = huntBar(flags);
  const stop = interruptOnSignals('hunt');
  const report = await new Hunt(source, scenario, {
    runs: flags.runs,
    seedStart: flags.seed,
    scheduler: flags.scheduler,
    depth: flags.depth,
    stepsMax: flags.steps,
    checkEvery: flags.checkEvery,
    interruptPer1024: flags.interrupts,
    keepGoing: flags.keepGoing,
    shard: flags.shard,
    jobs: flags.jobs,
    outDir: flags.out,
    onProgress: (done, _total, failures) => bar.update(done, failures),
    signal: stop.signal,
  })
    .run()
    .finally(() => {
      stop.dispose();
      bar.stop();
    });
  const json = `${JSON.stringify({ kind: 'hunt', ...report }, null, 2)}\n`;
  const partial = report.interrupted ? ' (partial: the hunt was interrupted)' : '';
  const saved =
    flags.report === undefined ||
    saveOutput(flags.report, json, `report: written to ${flags.report}${partial}`);
  if (flags.json) process.stdout.write(terminalJson(json));
  else printHunt(report, flags.steps);
  // As for run: a failure found is 1 even when interrupted; an interrupted hunt without one, 130.
  const code = report.failures.length > 0 ? 1 : report.interrupted ? 130 : 0;
  return saved || code !== 0 ? code : 1;
}

interface ReplayFlags {
  trace?: string;
  scenario?: string;
  print: boolean;
  until?: number;
}

async function replay(path: string, flags: ReplayFlags): Promise<number> {
  const trace = flags.trace !== undefined || flags.print ? new Trace() : undefined;
  let paused: string[] | undefined;
  const until =
    flags.until === undefined
      ? {}
      : {
          until: {
            step: flags.until,
            onPause: (view: ControlledView) => (paused = stateLines(view)),
          },
        };
  const scenario = flags.scenario === undefined ? {} : { scenario: flags.scenario };
  const {
    replay: file,
    result,
    reproduced,
    changed,
  } = await replayFile(path, {
    ...(trace === undefined ? {} : { trace }),
    ...scenario,
    ...until,
  });
  if (trace !== undefined && flags.trace !== undefined) {
    const said = `trace: ${trace.events.length} events written to ${flags.trace}`;
    if (!saveOutput(flags.trace, trace.json(), said)) return 1;
  }
  const shown = relative(process.cwd(), path) || path;
  const hashes =
    paused === undefined
      ? `recorded trace ${file.traceHash}, this run ${result.traceHash}`
      : `stopped before step ${flags.until}`;
  writeOut(`replay: ${shown}: seed ${file.seed}, ${file.decisions.length} decisions, ${hashes}\n`);
  if (changed !== undefined) writeOut(`NOTE: ${changed}\n`);
  if (flags.print && trace !== undefined) {
    writeOut(`schedule (* a preemption: cuts into the step of the actor before):\n`);
    for (const line of scheduleLines(trace.events, result.actorNames)) writeOut(`${line}\n`);
  }
  if (flags.until !== undefined) {
    if (paused === undefined) {
      writeOut(`the run ended at step ${result.steps}, before step ${flags.until}\n`);
    } else {
      writeOut(`${paused.join('\n')}\n`);
      return 0;
    }
  }
  const f = result.failure;
  if (f === undefined) {
    writeOut('no failure: the recorded failure did not happen (fixed?)\n');
    return 0;
  }
  writeOut(
    `${f.kind} at ${failureWhere(f, file.options.stepsMax)}: ${printable(f.message)}\n` +
      stackText(f),
  );
  writeOut(
    reproduced
      ? 'reproduced exactly: same failure, same trace hash\n'
      : changed !== undefined
        ? 'a different outcome than recorded: the scenario changed (see above)\n'
        : 'a different outcome than recorded\n',
  );
  return 1;
}

async function shrink(path: string, flags: { out?: string; scenario?: string }): Promise<number> {
  const target = flags.out ?? path.replace(/(\.replay)?\.json$/, '.shrunk.replay.json');
  const s = await shrinkFile(path, target, flags.scenario);
  const show = (m: typeof s.before): string =>
    `${m.steps} steps, ${m.switches} switches, ${m.actors} actors`;
  writeOut(
    `shrink: ${show(s.before)} -> ${show(s.after)} (${s.runs} replays)\n` +
      `  wrote ${s.path}\n  reproduce: ${reproduce(s.path)}\n`,
  );
  return 1;
}

/** Where a hunt's results go: replay files (--out), the terminal, a report file. */
function addHuntOutputOptions(command: Command): void {
  command.addOption(
    new Option('--out <dir>', 'where replay files go')
      .default('replays')
      .argParser(outputFolder('--out')),
  );
  for (const option of reportOptions()) command.addOption(option);
}

function addHuntCommand(cli: Command): void {
  const command = cli
    .command('hunt')
    .argument('[scenario]', 'a scenario file or module (default: the built-in default scenario)')
    .summary('search for races: many seeded controlled runs in parallel')
    .description(
      'Runs the scenario many times under a controlled scheduler (every service call a ' +
        'scheduling point), seeds in parallel on a thread pool. Each failure is replayed once ' +
        'more to prove it deterministic and written as a replay file; the command that ' +
        'replays it is printed. Exit code 0 when nothing was found, 1 when a failure was, ' +
        '2 on bad input, 130 when interrupted (Ctrl-C stops the pool; the failures found ' +
        'so far are still replayed, written and reported).',
    )
    .addOption(intOption('--runs <n>', 'runs (seeds) in all', 1000, 1, 10_000_000))
    .addOption(intOption('--seed <n>', 'first seed', 1, 0, 0xffffffff))
    .addOption(
      new Option('--scheduler <kind>', 'scheduler').choices(['pct', 'random']).default('pct'),
    )
    .addOption(intOption('--depth <d>', 'PCT bug depth', 3, 1, 20))
    .addOption(intOption('--steps <n>', 'scheduling decisions per run', 200, 1, 1_000_000))
    .addOption(checkEveryOption())
    .addOption(intOption('--interrupts <n>', 'interrupts per 1024 steps', 0, 0, 1024))
    .addOption(
      new Option(
        '--keep-going',
        'collect distinct failures instead of stopping at the first',
      ).default(false),
    )
    .addOption(
      new Option('--shard <i/n>', 'run only seeds k with k mod n = i')
        .default({ index: 0, count: 1 }, '0/1')
        .argParser(shard),
    )
    .addOption(intOption('--jobs <n>', 'pool threads', availableParallelism(), 1, 64));
  addHuntOutputOptions(command);
  command.action((path: string | undefined, flags: HuntFlags) => guarded(() => hunt(path, flags)));
}

function addReplayCommands(cli: Command): void {
  cli
    .command('replay')
    .argument('<file>', 'a replay file written by hunt or shrink')
    .summary('reproduce a saved schedule exactly')
    .description(
      'Replays the decisions of a replay file and checks that the failure and the trace hash ' +
        'are the same. A schedule that cannot be followed stops and says where. Exit code 0 ' +
        'when no failure happens, 1 when one does, 2 on bad input.',
    )
    .addOption(
      new Option(
        '--trace <file>',
        'write a Chrome trace event JSON file (open it in Perfetto)',
      ).argParser(outputFile('--trace')),
    )
    .addOption(scenarioOption())
    .addOption(new Option('--print', 'print the schedule: a line per decision').default(false))
    .addOption(
      new Option('--until <step>', 'stop before this decision and print the state there').argParser(
        integer('--until', 0, 1_000_000),
      ),
    )
    .action((path: string, flags: ReplayFlags) => guarded(() => replay(path, flags)));
  cli
    .command('shrink')
    .argument('<file>', 'a failing replay file')
    .addOption(
      new Option(
        '--out <file>',
        'where the shrunk replay goes (default: beside it, .shrunk.replay.json)',
      ).argParser(outputFile('--out')),
    )
    .summary('cut a failing schedule down to the fewest steps that still fail')
    .description(
      'Delta debugging over the decisions, then fewer preemptions; every candidate is ' +
        'replayed and kept only if the same failure happens. Writes a new replay file. At ' +
        'the end of a schedule every actor finishes its current step, in actor order.',
    )
    .addOption(scenarioOption())
    .action((path: string, flags: { out?: string; scenario?: string }) =>
      guarded(() => shrink(path, flags)),
    );
}

/** --scenario: the scenario a replay file names, given by the user (replay, shrink). */
const scenarioOption = (): Option =>
  new Option(
    '--scenario <file>',
    "run this scenario file (needed when the replay file's scenario lies outside its folder)",
  );

/** hunt, replay, shrink, explore and merge. */
export function addRaceCommands(cli: Command): void {
  addHuntCommand(cli);
  addReplayCommands(cli);
  addExploreCommands(cli);
}
