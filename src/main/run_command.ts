/**
 * `vmmsim run [scenario]`: resolves the scenario (the built-in default, a JSON file naming
 * built-in models, or a TypeScript/JavaScript module), runs it on real threads with a
 * progress bar, prints the report, and returns the exit code: 0 sound, 1 a violation or a
 * failed actor, 2 bad input (checked before any worker starts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import cliProgress from 'cli-progress';
import { OptionError, resolveOptions, type LockingPolicy } from '../shared/config.js';
import type { ScenarioSource } from '../shared/protocol.js';
import { loadScenario, ScenarioError } from '../workers/scenario_load.js';
import { Coordinator, type RunReport } from './coordinator.js';
import { formatRunReport } from './run_report.js';
import { Trace } from '../shared/trace.js';
import { bridgeRecorded } from './record.js';

export interface RunFlags {
  devices?: number;
  vms?: number;
  calls?: number;
  seconds?: number;
  seed: number;
  locking?: LockingPolicy;
  json: boolean;
  progress: boolean;
  hangSeconds: number;
  /** Write a Chrome trace event file here. */
  trace?: string;
  /** Keep the order of calls; on a violation, write it as a replay file here. */
  record?: string;
}

/** The folder of vmmsim's package.json, from sources or from dist/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

export const DEFAULT_SCENARIO = 'scenarios/default.json';

/** Reads a scenario path into a source; throws ScenarioError naming what is wrong. */
export function scenarioSource(
  path: string | undefined,
  flags: { devices?: number; vms?: number },
): ScenarioSource {
  const file = path === undefined ? join(packageRoot(), DEFAULT_SCENARIO) : resolve(path);
  if (!existsSync(file)) throw new ScenarioError(`scenario ${path}: no such file`);
  const counts = {
    ...(flags.devices === undefined ? {} : { devices: flags.devices }),
    ...(flags.vms === undefined ? {} : { vms: flags.vms }),
  };
  const ext = extname(file);
  if (ext === '.json') {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new ScenarioError(`${file}: not valid JSON: ${(error as Error).message}`);
    }
    return { kind: 'json', path: file, json, ...counts };
  }
  if (['.ts', '.js', '.mjs', '.mts'].includes(ext))
    return { kind: 'module', path: file, ...counts };
  throw new ScenarioError(`${file}: a scenario is a .json file or a .ts/.js module`);
}

function progressBar(
  enabled: boolean,
): ((calls: number, total: number) => void) & { stop(): void } {
  if (!enabled) return Object.assign(() => undefined, { stop: () => undefined });
  const bar = new cliProgress.SingleBar(
    {
      format: 'run [{bar}] {percentage}% | {value}/{total} calls | {rate} calls/s',
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = performance.now();
  let begun = false;
  const update = (calls: number, total: number): void => {
    const rate = Math.round(calls / Math.max((performance.now() - started) / 1000, 0.001));
    if (!begun) bar.start(total, 0, { rate });
    begun = true;
    bar.update(Math.min(calls, total), { rate });
  };
  return Object.assign(update, { stop: () => begun && bar.stop() });
}

export interface ScenarioRunOptions extends Omit<
  RunFlags,
  'json' | 'progress' | 'trace' | 'record'
> {
  /** Keep the order in which run-phase calls took effect (report.recorded). */
  record?: boolean;
  onProgress?: (calls: number, total: number) => void;
  /** Collect a Chrome trace of every service call into this. */
  trace?: Trace;
  /** Aborting ends the run phase early; the report says so. */
  signal?: AbortSignal;
}

/**
 * Runs a scenario file or module on real threads and returns the report (the library form
 * of `vmmsim run`). Throws ScenarioError or OptionError, naming the problem, before any
 * worker starts.
 */
export async function runScenario(
  path: string | undefined,
  o: ScenarioRunOptions,
): Promise<RunReport> {
  const source = scenarioSource(path, o);
  const scenario = await loadScenario(source);
  const locking = o.locking === undefined ? {} : { locking: o.locking };
  const machine = resolveOptions({ ...scenario.machine, ...locking });
  if (scenario.vms.length + 1 > machine.vmMax) {
    throw new OptionError(
      `too many VMs (${scenario.vms.length}): the machine holds ${machine.vmMax - 1} ` +
        `besides the system VM (machine.vmMax is ${machine.vmMax})`,
    );
  }
  const actors = scenario.devices.length + scenario.vms.length;
  if (actors + 2 > machine.actorMax) {
    throw new OptionError(
      `too many devices and VMs (${actors}): machine.actorMax (${machine.actorMax}) allows ` +
        `${machine.actorMax - 2}`,
    );
  }
  const coordinator = new Coordinator({
    source,
    scenario,
    seed: o.seed,
    machine,
    calls: o.calls ?? scenario.budget?.calls ?? 100_000,
    seconds: o.seconds ?? scenario.budget?.seconds ?? 60,
    interruptEveryMs: scenario.interrupts?.everyMs ?? 2,
    hangMs: o.hangSeconds * 1000,
    ...(o.onProgress === undefined ? {} : { onProgress: o.onProgress }),
    ...(o.trace === undefined ? {} : { trace: o.trace }),
    ...(o.record === true ? { record: true } : {}),
    ...(o.signal === undefined ? {} : { signal: o.signal }),
  });
  return coordinator.run();
}

/** A violation seen on real threads, carried over to a controlled replay file when it can. */
async function bridge(path: string | undefined, flags: RunFlags, report: RunReport): Promise<void> {
  const source = scenarioSource(path, flags);
  const bridged = await bridgeRecorded(source, await loadScenario(source), report, flags.record!);
  const f = bridged?.result.failure;
  if (bridged?.written === true && f !== undefined) {
    process.stdout.write(
      `\nrecorded: ${report.recorded!.length} calls in the order they took effect; under the ` +
        `controlled scheduler that order fails too (${f.kind}: ${f.message})\n` +
        `  replay file: ${flags.record}\n  reproduce:   npx vmmsim replay ${flags.record}\n`,
    );
    return;
  }
  process.stdout.write(
    `\nrecorded: the order of calls did not reproduce the failure under the controlled ` +
      `scheduler${f ? ` (${f.kind}: ${f.message})` : ''}; it depended on interrupt or callback ` +
      `timing. Hunt for it: npx vmmsim hunt ${path ?? ''}\n`,
  );
}

/**
 * SIGINT or SIGTERM ends the run phase; the run then finishes, tears down, checks and
 * reports as usual and says it was interrupted. A second signal ends the program at once.
 */
function interruptOnSignals(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(`\n${name}: stopping the run (again to quit at once)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const dispose = (): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  return { signal: controller.signal, dispose };
}

/** Runs `vmmsim run`; returns the exit code. */
export async function runCommand(path: string | undefined, flags: RunFlags): Promise<number> {
  const bar = progressBar(flags.progress && !flags.json && process.stderr.isTTY === true);
  let report: RunReport;
  try {
    const { trace: tracePath, record, ...rest } = flags;
    const trace = tracePath === undefined ? undefined : new Trace();
    const recording = record === undefined ? {} : { record: true };
    const stop = interruptOnSignals();
    report = await runScenario(path, {
      ...rest,
      onProgress: bar,
      signal: stop.signal,
      ...(trace ? { trace } : {}),
      ...recording,
    }).finally(stop.dispose);
    if (trace !== undefined && tracePath !== undefined) {
      trace.write(tracePath);
      process.stderr.write(`trace: ${trace.events.length} events written to ${tracePath}\n`);
    }
  } catch (error) {
    if (error instanceof ScenarioError || error instanceof OptionError) {
      process.stderr.write(`error: ${error.message}\n`);
      return 2;
    }
    throw error;
  } finally {
    bar.stop();
  }
  const { recorded, ...shown } = report;
  const text = flags.json ? JSON.stringify(shown, null, 2) : formatRunReport(report);
  process.stdout.write(`${text}\n`);
  const sound =
    report.failure === undefined &&
    report.violations.length === 0 &&
    report.actorViolations.length === 0;
  if (!sound && flags.record !== undefined && recorded !== undefined)
    await bridge(path, flags, report);
  if (report.interrupted) return sound ? 130 : 1;
  return sound ? 0 : 1;
}
