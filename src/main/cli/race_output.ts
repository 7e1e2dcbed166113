/**
 * What the race commands print alike: where a failure happened, a throw's stack, the command
 * that reproduces a replay file, the guard that turns bad input into exit code 2, and the
 * summary of `vmmsim merge`.
 */
import { relative } from 'node:path';
import { OptionError } from '../../shared/config.js';
import { printable, ScenarioError } from '../../shared/scenario/load.js';
import type { ControlledFailure } from '../controlled/controlled.js';
import type { Merged } from '../controlled/merge.js';
import { ReplayFileError, scenarioNamedBy } from '../controlled/replay_file.js';
import { terminalText } from '../../shared/printable.js';

const shown = (path: string): string => relative(process.cwd(), path) || path;

/**
 * The command that replays `path`; with --scenario when the file's scenario lies outside its
 * folder (a replay file runs such a scenario only when the user names it).
 */
export function reproduce(path: string): string {
  const named = scenarioNamedBy(path);
  const flag = named.trusted ? '' : ` --scenario ${shown(named.path)}`;
  return `npx vmmsim replay ${shown(path)}${flag}`;
}

/** Where in the run a failure happened, in words. */
export function failureWhere(f: ControlledFailure, stepsMax: number): string {
  const phase =
    f.phase === 'wind-down'
      ? ` (the wind-down: after --steps ${stepsMax}, each actor finishing its step)`
      : f.phase === 'finish'
        ? ' (at the end: finish() and the final check)'
        : '';
  return `step ${f.step}${phase}${f.actor === undefined ? '' : `, ${f.actor}`}`;
}

/** A failure's stack, indented, when it threw. */
export const stackText = (f: ControlledFailure): string =>
  f.stack === undefined ? '' : `${printable(f.stack).replace(/^/gm, '    ')}\n`;

/** Runs `fn` and turns bad input into exit code 2 with one sentence. */
export async function guarded(fn: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await fn();
  } catch (error) {
    const bad =
      error instanceof ScenarioError ||
      error instanceof ReplayFileError ||
      error instanceof OptionError;
    if (!bad) throw error;
    process.stderr.write(`error: ${terminalText(error.message)}\n`);
    process.exitCode = 2;
  }
}

/**
 * Writes a command's report to stdout with every control character and bidi override made
 * visible ('?'): names and messages in it come from scenario files (printable.ts).
 */
export const writeOut = (text: string): boolean => process.stdout.write(terminalText(text));

/** The merged summary as text. */
export function printMerged(m: Merged): void {
  const out: string[] = [];
  const shards = `${m.shards.present.length} of ${m.shards.count} shards`;
  const missing = m.shards.missing.length === 0 ? '' : ` (missing: ${m.shards.missing.join(', ')})`;
  const seconds = (m.elapsedMs / 1000).toFixed(2);
  const what =
    m.kind === 'hunt'
      ? `${m.runs} of ${m.runsPlanned ?? 0} runs`
      : `${m.runs} schedules explored, ${m.pruned ?? 0} pruned`;
  out.push(`merge: ${m.kind} of ${printable(m.scenario)} (${m.search}): ${shards}${missing}`);
  out.push(
    `  ${what}; the longest shard took ${seconds} s; ${m.failures.length} distinct failure(s)`,
  );
  if (m.interrupted) out.push('  INTERRUPTED: at least one shard was stopped early');
  for (const f of m.failures) {
    const hits = m.kind === 'hunt' ? `${f.hits} run(s)` : `${f.shards.length} shard(s)`;
    out.push(``, `FAILURE: ${f.kind}: ${printable(f.message)}`);
    out.push(
      `  hit by ${hits}, in shard(s) ${f.shards.join(', ')}`,
      `  replay file: ${f.replayPath}`,
    );
  }
  const whole = m.shards.missing.length === 0 && !m.interrupted;
  if (m.kind === 'explore' && m.failures.length === 0 && whole) {
    out.push(`no failure in ${m.runs + (m.pruned ?? 0)} schedules: ${m.search}`);
  }
  writeOut(`${out.join('\n')}\n`);
}
