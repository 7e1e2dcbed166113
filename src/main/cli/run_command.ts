/**
 * `vmmsim run [scenario]`: resolves the scenario (the built-in default, a JSON file naming
 * built-in models, or a TypeScript/JavaScript module), runs it on real threads with a
 * progress bar, prints the report, and returns the exit code: 0 sound, 1 a violation or a
 * failed actor, 2 bad input (checked before any worker starts).
 */
import cliProgress from 'cli-progress';
import { OptionError } from '../../shared/config.js';
import { printable, terminalJson, terminalText } from '../../shared/printable.js';
import { loadScenario, ScenarioError } from '../../shared/scenario/load.js';
import { writeFileAtomic } from '../../shared/atomic_write.js';
import type { RunReport } from '../runtime/coordinator.js';
import { runScenario, scenarioSource, type ScenarioRunOptions } from '../runtime/run_scenario.js';
import { formatRunReport } from './run_report.js';
import { Trace } from '../../shared/trace.js';
import { bridgeRecorded } from '../controlled/record.js';
import { interruptOnSignals } from '../runtime/interrupt.js';

/** The flags of `vmmsim run`: the run's options, and the files and output it writes. */
export interface RunFlags extends Omit<
  ScenarioRunOptions,
  'record' | 'onProgress' | 'trace' | 'signal'
> {
  json: boolean;
  progress: boolean;
  /** Write a Chrome trace event file here. */
  trace?: string;
  /** Keep the order of calls; on a violation, write it as a replay file here. */
  record?: string;
  /** Write the report as JSON (what --json prints) here, atomically. */
  report?: string;
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
