/**
 * `vmmsim soak`: the command-line face of soak.ts, with a progress bar, Ctrl-C that stops
 * after the current run and still prints the summary, and an exit code: 0 when every run
 * ended the way its fault explains and no run without a fault broke an invariant, else 1.
 */
import cliProgress from 'cli-progress';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { type FaultKind, FaultKinds } from '../../shared/protocol.js';
import { devicesOption, intOption, vmsOption } from './cli_options.js';
import { interruptOnSignals } from '../runtime/interrupt.js';
import { formatSoak, soak, type SoakSummary } from '../runtime/soak.js';

interface SoakFlags {
  minutes: number;
  runs: number;
  faults: FaultKind[];
  faultEvery: number;
  injectAtMax: number;
  devices?: number;
  vms?: number;
  calls: number;
  seed: number;
  json: boolean;
  progress: boolean;
}

function faultList(value: string): FaultKind[] {
  const kinds = value === 'none' ? [] : value.split(',').map((k) => k.trim());
  for (const kind of kinds) {
    if (!(FaultKinds as readonly string[]).includes(kind))
      throw new InvalidArgumentError(`--faults: ${kind} is not one of ${FaultKinds.join(', ')}.`);
  }
  return kinds as FaultKind[];
}

function bar(enabled: boolean, minutes: number) {
  if (!enabled) return undefined;
  const progress = new cliProgress.SingleBar(
    {
      format:
        'soak [{bar}] {percentage}% | {value}/{total} s | {runs} runs, {faults} faults, ' +
        '{unexplained} unexplained',
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  progress.start(Math.round(minutes * 60), 0, { runs: 0, faults: 0, unexplained: 0 });
  return progress;
}

/** V8's collector, exposed at run time, so that memory is sampled after a collection. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

async function soakCommand(scenario: string | undefined, flags: SoakFlags): Promise<number> {
  const progress = bar(flags.progress && !flags.json && process.stderr.isTTY, flags.minutes);
  const stop = interruptOnSignals('soak after the current run');
  let summary: SoakSummary;
  try {
    summary = await soak({
      minutes: flags.minutes,
      runs: flags.runs,
      faults: flags.faults,
      faultEvery: flags.faultEvery,
      injectAtMax: flags.injectAtMax,
      ...(scenario === undefined ? {} : { scenario }),
      ...(flags.devices === undefined ? {} : { devices: flags.devices }),
      ...(flags.vms === undefined ? {} : { vms: flags.vms }),
      calls: flags.calls,
      hangSeconds: 1,
      seed: flags.seed,
      signal: stop.signal,
      collect: collector(),
      onRun: (_, s) =>
        progress?.update(Math.min(Math.round(s.elapsedMs / 1000), flags.minutes * 60), {
          runs: s.runs,
          faults: s.faultsFired,
          unexplained: s.unexplained.length,
        }),
    });
  } finally {
    progress?.stop();
    stop.dispose();
  }
  process.stdout.write(`${flags.json ? JSON.stringify(summary, null, 2) : formatSoak(summary)}\n`);
  const ok = summary.unexplained.length === 0 && summary.violationsWithoutFault === 0;
  if (!ok) return 1;
  return summary.interrupted ? 130 : 0;
}

export function addSoakCommand(cli: Command): void {
  cli
    .command('soak')
    .argument('[scenario]', 'the scenario to soak (default: the built-in default scenario)')
    .summary('run a scenario again and again for minutes, with faults injected; check each run')
    .description(
      'Runs the scenario on real threads again and again until --minutes pass (or --runs ' +
        'runs), injecting one fault in every --fault-every-th run at a random lock ' +
        'acquisition: a worker that throws, calls process.exit(), is terminate()d or loops ' +
        'holding a kernel lock, or takes a lock against the ranks. Every run must end ' +
        'classified: sound without a fault, the fault named (owner-dead locks, the hang ' +
        'blamed, the inversion reported) with one. Prints runs, faults, violations, the time ' +
        'from a death to its detection and the memory growth. Exit 0 when every run is ' +
        'explained and no fault-free run broke an invariant, 1 otherwise, 2 on bad input, ' +
        '130 when stopped with Ctrl-C (the summary still prints).',
    )
    .addOption(intOption('--minutes <n>', 'how long to keep starting runs', 10, 1, 24 * 60))
    .addOption(
      intOption(
        '--runs <n>',
        'stop after this many runs (0: only --minutes bounds it)',
        0,
        0,
        10_000_000,
      ),
    )
    .addOption(
      new Option('--faults <list>', 'comma-separated faults to cycle through, or none')
        .default([...FaultKinds], FaultKinds.join(','))
        .argParser(faultList),
    )
    .addOption(
      intOption(
        '--fault-every <n>',
        'inject a fault in every n-th run (1: every run)',
        2,
        1,
        1_000_000,
      ),
    )
    .addOption(
      intOption(
        '--inject-at-max <n>',
        'a fault fires at a lock acquisition from 1 to n',
        2000,
        1,
        1_000_000_000,
      ),
    )
    .addOption(devicesOption())
    .addOption(vmsOption())
    .addOption(intOption('--calls <n>', 'service calls per run', 20_000, 1, 1_000_000_000))
    .addOption(
      intOption('--seed <n>', 'seed of the first run (run i uses seed + i)', 1, 0, 0xffffffff),
    )
    .addOption(new Option('--no-progress', 'no progress bar'))
    .addOption(new Option('--json', 'print the summary as JSON').default(false))
    .action(async (scenario: string | undefined, flags: SoakFlags) => {
      process.exitCode = await soakCommand(scenario, flags);
    });
}
