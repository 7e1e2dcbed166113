#!/usr/bin/env node
/**
 * The vmmsim command line. Exit codes: 0 success, 1 an invariant broke or a run failed,
 * 2 bad input (one sentence naming the option, no stack trace).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { addBenchOptions, BENCH_DESCRIPTION, type BenchFlags } from '../../../bench/options.js';
import {
  LockingPolicies,
  type LockingPolicy,
  LockOrderModes,
  limits,
} from '../../shared/config.js';
import { FaultKinds } from '../../shared/protocol.js';
import {
  devicesOption,
  integer,
  outputFile,
  reportOptions,
  vmsOption,
  intOption,
} from './cli_options.js';
import { addExamples, unknownCommand } from './cli_help.js';
import { initCommand } from './init_command.js';
import { addRaceCommands } from './race_commands.js';
import { addSoakCommand } from './soak_command.js';
import { formatStressReport } from './stress_report.js';
import { runCommand, type RunFlags } from './run_command.js';
import { INJECT_AT_MAX, packageRoot } from '../runtime/run_scenario.js';
import { runStressWorkers } from '../runtime/stress_run.js';

interface StressFlags {
  workers: number;
  calls: number;
  locking: LockingPolicy;
  seed: number;
  shared: boolean;
  ramPages: number;
  regionPages: number;
  json: boolean;
}

async function stress(flags: StressFlags): Promise<number> {
  if (flags.regionPages * (flags.shared ? 1 : flags.workers) > flags.ramPages / 2) {
    process.stderr.write(
      'error: --region-pages times the number of regions must fit in half of --ram-pages.\n',
    );
    return 2;
  }
  const report = await runStressWorkers({
    workers: flags.workers,
    callsPerWorker: flags.calls,
    locking: flags.locking,
    seed: flags.seed,
    sharedRegion: flags.shared,
    regionPages: flags.regionPages,
    ramPages: flags.ramPages,
  });
  process.stdout.write(
    flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatStressReport(report)}\n`,
  );
  return report.violations.length === 0 && report.errors.length === 0 ? 0 : 1;
}

/** --devices … --hang-seconds: how much work, with what seed and locking, hung when. */
function addWorkloadOptions(run: Command): void {
  run
    .addOption(devicesOption())
    .addOption(vmsOption())
    .addOption(
      new Option('--calls <n>', 'service calls in all (default: the scenario budget)').argParser(
        integer('--calls', 1, 1_000_000_000),
      ),
    )
    .addOption(
      new Option('--seconds <n>', 'wall-clock bound on the run phase').argParser(
        integer('--seconds', 1, 86_400),
      ),
    )
    .addOption(intOption('--seed <n>', "seed of every actor's generator", 1, 0, 0xffffffff))
    .addOption(
      new Option(
        '--locking <policy>',
        "locking policy (default: the scenario's, else fine)",
      ).choices(LockingPolicies),
    )
    .addOption(intOption('--hang-seconds <n>', 'an actor silent this long is hung', 5, 1, 600));
}

/** Where the report goes: the terminal (--json, --no-progress) and files, each atomic. */
function addRunOutputOptions(run: Command): void {
  for (const option of reportOptions()) run.addOption(option);
  run
    .addOption(
      new Option(
        '--trace <file>',
        'write a Chrome trace event file (open it in Perfetto)',
      ).argParser(outputFile('--trace')),
    )
    .addOption(
      new Option(
        '--record <file>',
        'keep the order of calls; a violation becomes this replay file',
      ).argParser(outputFile('--record')),
    );
}

function addRunCommand(cli: Command): void {
  const run = cli
    .command('run')
    .argument(
      '[scenario]',
      'a .json file naming built-in models, or a .ts/.js module ' +
        '(default: the built-in default scenario)',
    )
    .summary('run a scenario on real threads, check every invariant, print a report')
    .description(
      'Runs a scenario: one worker thread per device and per VM, the control messages in DDK ' +
        'order, a bounded workload with simulated interrupts and free-physical-region ' +
        'callbacks, then the invariant checker. With no scenario, runs the built-in default ' +
        '(scenarios/default.json). Exit code 0 when sound, 1 when an invariant broke or an ' +
        'actor threw, exited or hung, 2 on bad input, 130 when interrupted (Ctrl-C stops ' +
        'the run phase; the checker and the report still run).',
    );
  addWorkloadOptions(run);
  run
    .addOption(
      new Option(
        '--inject <fault>',
        'inject one fault inside a critical section, in whichever actor takes the lock: ' +
          'throw, process.exit(), terminate(), hang, or invert (a lock-order inversion)',
      ).choices(FaultKinds),
    )
    .addOption(
      new Option(
        '--inject-at <n>',
        `the fault fires at the n-th lock acquisition of the run phase, machine-wide ` +
          `(default: drawn from --seed, 1 to ${INJECT_AT_MAX})`,
      ).argParser(integer('--inject-at', 1, 1_000_000_000)),
    )
    .addOption(
      new Option(
        '--lock-order <mode>',
        'lockdep: a lock taken against the ranks, or one not interrupt-safe at interrupt ' +
          'time, throws (assert) or is recorded, reported and let through (report)',
      )
        .choices(LockOrderModes)
        .default('assert'),
    );
  addRunOutputOptions(run);
  run.action(async (scenario: string | undefined, flags: RunFlags) => {
    process.exitCode = await runCommand(scenario, flags);
  });
}

function addStressCommand(cli: Command): void {
  cli
    .command('stress')
    .summary('hammer the services from N workers with no scenario (a raw load test)')
    .description(
      'Boots a machine and runs device workers that call the memory services on one ' +
        'SharedArrayBuffer (_XchgFreePhysReg chains, _MapFreePhysReg/_UnmapFreePhysReg, ' +
        '_LinPageLock/_CopyPageTable/_LinPageUnLock, _PageAllocate/_PageFree), checks every ' +
        'invariant and prints a report. Exit code 0 when sound, 1 when an invariant broke, ' +
        '2 on bad input.',
    )
    .addOption(intOption('--workers <n>', 'device worker threads', 4, 1, 64))
    .addOption(intOption('--calls <n>', 'service calls per worker', 50_000, 1, 100_000_000))
    .addOption(
      new Option('--locking <policy>', 'locking policy').choices(LockingPolicies).default('fine'),
    )
    .addOption(intOption('--seed <n>', 'seed of the workload', 1, 0, 0xffffffff))
    .addOption(new Option('--shared', 'all workers work in one shared region').default(false))
    .addOption(
      intOption(
        '--ram-pages <n>',
        'physical pages (4 KiB each)',
        4096,
        limits.ramPagesMin,
        limits.ramPagesMax,
      ),
    )
    .addOption(intOption('--region-pages <n>', 'pages per free physical region', 64, 8, 4096))
    .addOption(new Option('--json', 'print the report as JSON').default(false))
    .action(async (flags: StressFlags) => {
      process.exitCode = await stress(flags);
    });
}

function addInitCommand(cli: Command): void {
  cli
    .command('init')
    .argument('[dir]', 'the folder (made if needed)', '.')
    .summary('make a starter folder: a device scenario, a race scenario, a README')
    .description(
      'Writes a starter folder: package.json (unless one is there), tsconfig.json, ' +
        'device.ts (a device of your own, a comment on each callback), race.ts (two devices ' +
        'that race, and the switch that fixes it), .gitignore and a README of commands to ' +
        'try. Writes nothing if one of those files is there already (exit 2).',
    )
    .action((dir: string) => {
      process.exitCode = initCommand(dir);
    });
}

function addBenchCommand(cli: Command): void {
  const bench = cli
    .command('bench')
    .summary('the benchmark suite: services, scaling with threads, the message-passing baseline')
    .description(BENCH_DESCRIPTION);
  addBenchOptions(bench).action(async (flags: BenchFlags) => {
    // The suite is loaded only when asked for (mitata, workers, the baseline).
    const { bench: runBench } = await import('../../../bench/run.js');
    process.exitCode = await runBench(flags);
  });
}

function version(): string {
  const manifest = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as {
    version?: unknown;
  };
  return String(manifest.version);
}

function program(): Command {
  const cli = new Command('vmmsim')
    .description('A multi-core simulator of the Windows 3.1/95 VMM memory services.')
    .version(version())
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text) });
  addRunCommand(cli);
  addStressCommand(cli);
  addRaceCommands(cli);
  addSoakCommand(cli);
  addInitCommand(cli);
  addBenchCommand(cli);
  addExamples(cli);
  return cli;
}

async function main(argv: string[]): Promise<void> {
  // A reader that goes away (| head) ends the output, not the program with a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  const cli = program();
  const unknown = unknownCommand(cli, argv[2] === 'help' ? argv[3] : argv[2]);
  if (unknown !== undefined) {
    process.stderr.write(`${unknown}\n`);
    process.exitCode = 2;
    return;
  }
  try {
    await cli.parseAsync(argv);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (
      code === 'commander.helpDisplayed' ||
      code === 'commander.version' ||
      code === 'commander.help'
    ) {
      process.exitCode = 0;
      return;
    }
    if (typeof code === 'string' && code.startsWith('commander.')) {
      process.exitCode = 2;
      return;
    }
    throw error;
  }
}

await main(process.argv);
// The command is done. A scenario module may have left a timer or a handle alive (or a FIFO
// read in the loader): it must not keep vmmsim from exiting. Unref'd: a clean end is at once.
setTimeout(() => process.exit(process.exitCode ?? 0), 2_000).unref();
