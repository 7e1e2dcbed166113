/**
 * `vmmsim run [scenario]`: resolves the scenario (the built-in default, a JSON file naming
 * built-in models, or a TypeScript/JavaScript module), runs it on real threads with a
 * progress bar, prints the report, and returns the exit code: 0 sound, 1 a violation or a
 * failed actor, 2 bad input (checked before any worker starts).
 */
import { existsSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import cliProgress from 'cli-progress';
import {
  type LockingPolicy,
  type LockOrderMode,
  OptionError,
  resolveOptions,
} from '../../shared/config.js';
import type { FaultKind, FaultPlan, ScenarioSource } from '../../shared/protocol.js';
import { Prng } from '../../shared/prng.js';
import { printable, terminalJson, terminalText } from '../../shared/printable.js';
import { loadScenario, readScenarioJson, ScenarioError } from '../../shared/scenario/load.js';
import { writeFileAtomic } from './atomic_write.js';
import { Coordinator, type RunReport } from '../runtime/coordinator.js';
import { formatRunReport } from './run_report.js';
import { Trace } from '../../shared/trace.js';
import { bridgeRecorded } from '../controlled/record.js';
import { interruptOnSignals } from '../runtime/interrupt.js';

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
  /** Write the report as JSON (what --json prints) here, atomically. */
  report?: string;
  /** Inject one fault inside a critical section, in whichever actor takes that lock. */
  inject?: FaultKind;
  /** The fault fires at the n-th lock acquisition of the run phase, machine-wide. */
  injectAt?: number;
  /** lockdep: an inversion throws (assert) or is recorded and reported (report). */
  lockOrder?: LockOrderMode;
}

/** Acquisitions before a fault whose --inject-at was not given: drawn from 1 to this. */
export const INJECT_AT_MAX = 2000;

/** The fault of --inject: at which lock acquisition, drawn from the seed if not given. */
export function faultOf(
  flags: Pick<RunFlags, 'inject' | 'injectAt' | 'seed'>,
): FaultPlan | undefined {
  if (flags.inject === undefined) return undefined;
  const acquisitions =
    flags.injectAt ?? new Prng((flags.seed ^ 0xfa017) >>> 0).range(1, INJECT_AT_MAX);
  return { kind: flags.inject, acquisitions };
}

/**
 * Worker threads one run may start (a device or VM each). Each costs about 16 MB, and on a
 * 2-core machine 128 of them did not all start within the coordinator's start bound.
 */
export const RUN_THREADS_MAX = 64;

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
  if (ext === '.json') return { kind: 'json', path: file, json: readScenarioJson(file), ...counts };
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
  'json' | 'progress' | 'trace' | 'record' | 'report'
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
  // The loader checks the machine's options and size and the device and VM counts.
  const scenario = await loadScenario(source, o.signal);
  const actors = scenario.devices.length + scenario.vms.length;
  if (actors > RUN_THREADS_MAX) {
    throw new OptionError(
      `too many devices and VMs for real threads (${actors}): a run starts one worker ` +
        `thread per device and VM, at most ${RUN_THREADS_MAX} (hunt runs more, on one thread)`,
    );
  }
  const locking = o.locking === undefined ? {} : { locking: o.locking };
  const lockOrder = o.lockOrder === undefined ? {} : { lockOrder: o.lockOrder };
  const machine = resolveOptions({ ...scenario.machine, ...locking, ...lockOrder });
  const fault = faultOf(o);
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
    ...(fault === undefined ? {} : { fault }),
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
      `scheduler: ${bridged?.reason ?? 'no calls were recorded'}. ` +
      `Hunt for it: npx vmmsim hunt ${path ?? ''}\n`,
  );
}

/**
 * Writes a file the user asked for (atomically) and says so on stderr; a failure to write is
 * one sentence and false, never a stack trace after a long run.
 */
export function saveOutput(path: string, text: string, said: string): boolean {
  try {
    writeFileAtomic(path, text);
    process.stderr.write(`${said}\n`);
    return true;
  } catch (error) {
    process.stderr.write(`error: ${path} could not be written: ${(error as Error).message}\n`);
    return false;
  }
}

/** Writes --trace and --report; false when one could not be written. */
function saveRunOutputs(flags: RunFlags, report: RunReport, trace: Trace | undefined): boolean {
  const { recorded: _recorded, ...shown } = report;
  const partial = report.interrupted ? ' (partial: the run was interrupted)' : '';
  let saved = true;
  if (trace !== undefined && flags.trace !== undefined) {
    const said = `trace: ${trace.events.length} events written to ${flags.trace}${partial}`;
    saved = saveOutput(flags.trace, trace.json(), said) && saved;
  }
  if (flags.report !== undefined) {
    const json = `${JSON.stringify(shown, null, 2)}\n`;
    saved = saveOutput(flags.report, json, `report: written to ${flags.report}${partial}`) && saved;
  }
  return saved;
}

/** Runs `vmmsim run`; returns the exit code. */
export async function runCommand(path: string | undefined, flags: RunFlags): Promise<number> {
  const bar = progressBar(flags.progress && !flags.json && process.stderr.isTTY === true);
  const trace = flags.trace === undefined ? undefined : new Trace();
  let report: RunReport;
  const stop = interruptOnSignals('run');
  try {
    const { trace: _trace, record, report: _report, ...rest } = flags;
    const recording = record === undefined ? {} : { record: true };
    report = await runScenario(path, {
      ...rest,
      onProgress: bar,
      signal: stop.signal,
      ...(trace ? { trace } : {}),
      ...recording,
    }).finally(stop.dispose);
  } catch (error) {
    if (error instanceof ScenarioError || error instanceof OptionError) {
      process.stderr.write(`error: ${printable(error.message)}\n`);
      return stop.signal.aborted ? 130 : 2; // Ctrl-C while the scenario loaded: nothing ran
    }
    throw error;
  } finally {
    bar.stop();
  }
  const saved = saveRunOutputs(flags, report, trace);
  const { recorded, ...shown } = report;
  // Names and messages come from the scenario: no escape sequence or bidi override gets out.
  const text = flags.json
    ? terminalJson(JSON.stringify(shown, null, 2))
    : terminalText(formatRunReport(report));
  process.stdout.write(`${text}\n`);
  const sound =
    report.failure === undefined &&
    report.violations.length === 0 &&
    report.actorViolations.length === 0;
  if (!sound && flags.record !== undefined && recorded !== undefined)
    await bridge(path, flags, report);
  const code = report.interrupted ? (sound ? 130 : 1) : sound ? 0 : 1;
  return saved || code !== 0 ? code : 1;
}
