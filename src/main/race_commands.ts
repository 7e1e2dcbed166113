/**
 * The race-reproduction commands of the CLI: hunt, replay, shrink. Parsing and printing
 * only; the work is in hunt.ts and replay_command.ts. Exit codes as everywhere: 0 nothing
 * found, 1 a failure found or reproduced, 2 bad input.
 */
import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import cliProgress from 'cli-progress';
import { Command, Option } from 'commander';
import { OptionError } from '../shared/config.js';
import { loadScenario, ScenarioError } from '../workers/scenario_load.js';
import { integer, outputFile, outputFolder, reportOptions, shard } from './cli_options.js';
import { Hunt, type HuntReport } from './hunt.js';
import { interruptOnSignals } from './interrupt.js';
import { ReplayFileError } from './replay_file.js';
import { replayFile, shrinkFile } from './replay_command.js';
import { saveOutput, scenarioSource } from './run_command.js';
import { Trace } from '../shared/trace.js';

interface HuntFlags {
  runs: number;
  seed: number;
  scheduler: 'pct' | 'random';
  depth: number;
  steps: number;
  checkEvery: number;
  interrupts: number;
  keepGoing: boolean;
  shard: { index: number; count: number };
  jobs: number;
  out: string;
  json: boolean;
  progress: boolean;
  report?: string;
}

const command = (path: string): string =>
  `npx vmmsim replay ${relative(process.cwd(), path) || path}`;

function printHunt(report: HuntReport): void {
  const rate = Math.round(report.runsPerSecond).toLocaleString('en-US');
  const seconds = (report.elapsedMs / 1000).toFixed(2);
  process.stdout.write(
    `hunt: ${report.scenario}: ${report.runs} runs in ${seconds} s ` +
      `(${rate} runs/s on ${report.jobs} threads), ${report.failures.length} failure(s)\n`,
  );
  if (report.interrupted) {
    process.stdout.write(
      `INTERRUPTED: stopped after ${report.runs} of ${report.runsPlanned} runs; ` +
        `${report.failures.length === 0 ? 'no failure in those' : 'the failures found so far'}\n`,
    );
  }
  for (const f of report.failures) {
    const who = f.failure.actor === undefined ? '' : `, ${f.failure.actor}`;
    const proof = f.deterministic
      ? 'replayed once more: same failure, same trace hash'
      : 'NOT deterministic on replay';
    process.stdout.write(
      `\nFAILURE (seed ${f.seed}, step ${f.failure.step}${who}): ` +
        `${f.failure.kind}: ${f.failure.message}\n  ${proof}\n` +
        `  replay file: ${f.replayPath}\n  reproduce:   ${command(f.replayPath)}\n`,
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
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const partial = report.interrupted ? ' (partial: the hunt was interrupted)' : '';
  const saved =
    flags.report === undefined ||
    saveOutput(flags.report, json, `report: written to ${flags.report}${partial}`);
  if (flags.json) process.stdout.write(json);
  else printHunt(report);
  // As for run: a failure found is 1 even when interrupted; an interrupted hunt without one, 130.
  const code = report.failures.length > 0 ? 1 : report.interrupted ? 130 : 0;
  return saved || code !== 0 ? code : 1;
}

async function replay(path: string, tracePath: string | undefined): Promise<number> {
  const trace = tracePath === undefined ? undefined : new Trace();
  const { replay: file, result, reproduced } = await replayFile(path, trace);
  if (trace !== undefined && tracePath !== undefined) {
    const said = `trace: ${trace.events.length} events written to ${tracePath}`;
    if (!saveOutput(tracePath, trace.json(), said)) return 1;
  }
  const f = result.failure;
  process.stdout.write(
    `replay: ${relative(process.cwd(), path) || path}: seed ${file.seed}, ` +
      `${file.decisions.length} decisions, ` +
      `recorded trace ${file.traceHash}, this run ${result.traceHash}\n`,
  );
  if (f === undefined) {
    process.stdout.write('no failure: the recorded failure did not happen (fixed?)\n');
    return 0;
  }
  process.stdout.write(
    `${f.kind} at step ${f.step}${f.actor ? ` (${f.actor})` : ''}: ${f.message}\n`,
  );
  process.stdout.write(
    reproduced
      ? 'reproduced exactly: same failure, same trace hash\n'
      : 'a different outcome than recorded\n',
  );
  return 1;
}

async function shrink(path: string, out: string | undefined): Promise<number> {
  const target = out ?? path.replace(/(\.replay)?\.json$/, '.shrunk.replay.json');
  const s = await shrinkFile(path, target);
  process.stdout.write(
    `shrink: ${s.before.steps} steps, ${s.before.preemptions} preemptions -> ` +
      `${s.after.steps} steps, ${s.after.preemptions} preemptions (${s.runs} replays)\n` +
      `  wrote ${s.path}\n  reproduce: ${command(s.path)}\n`,
  );
  return 1;
}

/** Runs `fn` and turns bad input into exit code 2 with one sentence. */
async function guarded(fn: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await fn();
  } catch (error) {
    const bad =
      error instanceof ScenarioError ||
      error instanceof ReplayFileError ||
      error instanceof OptionError;
    if (!bad) throw error;
    process.stderr.write(`error: ${error.message}\n`);
    process.exitCode = 2;
  }
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
    .addOption(
      new Option('--runs <n>', 'runs (seeds) in all')
        .default(1000)
        .argParser(integer('--runs', 1, 10_000_000)),
    )
    .addOption(
      new Option('--seed <n>', 'first seed').default(1).argParser(integer('--seed', 0, 0xffffffff)),
    )
    .addOption(
      new Option('--scheduler <kind>', 'scheduler').choices(['pct', 'random']).default('pct'),
    )
    .addOption(
      new Option('--depth <d>', 'PCT bug depth').default(3).argParser(integer('--depth', 1, 20)),
    )
    .addOption(
      new Option('--steps <n>', 'scheduling decisions per run')
        .default(200)
        .argParser(integer('--steps', 1, 1_000_000)),
    )
    .addOption(
      new Option('--check-every <n>', 'full invariant check every n steps (0: at the end)')
        .default(0)
        .argParser(integer('--check-every', 0, 1_000_000)),
    )
    .addOption(
      new Option('--interrupts <n>', 'interrupts per 1024 steps')
        .default(0)
        .argParser(integer('--interrupts', 0, 1024)),
    )
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
    .addOption(
      new Option('--jobs <n>', 'pool threads')
        .default(availableParallelism())
        .argParser(integer('--jobs', 1, 64)),
    );
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
    .action((path: string, flags: { trace?: string }) => guarded(() => replay(path, flags.trace)));
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
    .action((path: string, flags: { out?: string }) => guarded(() => shrink(path, flags.out)));
}

/** hunt, replay and shrink. */
export function addRaceCommands(cli: Command): void {
  addHuntCommand(cli);
  addReplayCommands(cli);
}
