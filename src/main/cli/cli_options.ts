/**
 * Parsers for command-line option values, shared by every command: each refuses a bad value
 * with one sentence naming the option (commander's InvalidArgumentError, exit code 2) while
 * the arguments are parsed, before any work starts. Values only; the commands are elsewhere.
 */
import { closeSync, constants, lstatSync, openSync, rmSync, type Stats, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { InvalidArgumentError, Option } from 'commander';

export type IntegerParser = (value: string) => number;

/** A decimal integer from `min` to `max` (no sign, no exponent, no fraction). */
export function integer(name: string, min: number, max: number): IntegerParser {
  return (value) => {
    const parsed = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}.`);
    }
    return parsed;
  };
}

/** The flags hunt and explore share: shards, pool threads, where and how they report. */
export interface PoolRunFlags {
  shard: { index: number; count: number };
  jobs: number;
  out: string;
  json: boolean;
  progress: boolean;
  report?: string;
}

/** An option taking an integer from `min` to `max`, `fallback` when left out. */
export function intOption(
  flags: string,
  description: string,
  fallback: number,
  min: number,
  max: number,
): Option {
  const name = flags.split(' ')[0]!;
  return new Option(flags, description).default(fallback).argParser(integer(name, min, max));
}

/** --check-every of hunt, replay and explore: how often the full invariant check runs. */
export const checkEveryOption = (): Option =>
  intOption('--check-every <n>', 'full invariant check every n steps (0: at the end)', 0, 0, 1e6);

function kindOf(path: string): 'file' | 'folder' | 'none' | 'dangling link' {
  try {
    return statSync(path).isDirectory() ? 'folder' : 'file';
  } catch {
    return lstatOrNull(path)?.isSymbolicLink() === true ? 'dangling link' : 'none';
  }
}

function lstatOrNull(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/** Linux O_TMPFILE (with O_DIRECTORY): a file with no name, that no one sees or must remove. */
const O_TMPFILE = 0o20200000;

/**
 * Why nothing can be written in `folder` (an error code), or undefined. An access() check is
 * not enough: root passes it for /proc, where nothing can be created. The probe is a file
 * with no name (O_TMPFILE), so nothing appears in the folder; where the file system cannot
 * make one, a named probe file is made and removed at once.
 */
function writable(folder: string): string | undefined {
  try {
    closeSync(openSync(folder, O_TMPFILE | constants.O_WRONLY, 0o600));
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EINVAL' && code !== 'EISDIR')
      return code ?? 'an error';
  }
  const probe = join(folder, `.vmmsim-probe-${process.pid}`);
  try {
    closeSync(openSync(probe, 'wx'));
    rmSync(probe, { force: true });
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'an error';
  }
}

/**
 * A file the command will write at the end: not a folder, in a folder that exists and where a
 * file can be written, so a long run never ends in a write that was bound to fail.
 */
export function outputFile(name: string): (value: string) => string {
  return (value) => {
    if (value.trim() === '') throw new InvalidArgumentError(`${name} needs a file name.`);
    if (value.includes('\0')) throw new InvalidArgumentError(`${name}: a NUL in the name.`);
    if (kindOf(value) === 'folder') {
      throw new InvalidArgumentError(`${name} ${value} is a folder; give a file name.`);
    }
    // The file is replaced by a rename: never a device or a FIFO (as root, /dev/null).
    if (kindOf(value) === 'file' && !statSync(value).isFile()) {
      throw new InvalidArgumentError(`${name} ${value} is not a regular file.`);
    }
    const folder = dirname(resolve(value));
    if (kindOf(folder) !== 'folder') {
      throw new InvalidArgumentError(`${name} ${value}: there is no folder ${folder}.`);
    }
    const why = writable(folder);
    if (why !== undefined) {
      throw new InvalidArgumentError(
        `${name} ${value}: nothing can be written in ${folder} (${why}).`,
      );
    }
    return value;
  };
}

/**
 * A folder the command will create if needed: not a link to nothing, and the nearest
 * existing folder on its path is one where something can be written (probed, as for files).
 */
export function outputFolder(name: string): (value: string) => string {
  return (value) => {
    if (value.trim() === '') throw new InvalidArgumentError(`${name} needs a folder name.`);
    if (value.includes('\0')) throw new InvalidArgumentError(`${name}: a NUL in the name.`);
    let path = resolve(value);
    while (kindOf(path) !== 'folder' && dirname(path) !== path) {
      const kind = kindOf(path);
      if (kind === 'file') {
        throw new InvalidArgumentError(`${name} ${value}: ${path} is a file, not a folder.`);
      }
      if (kind === 'dangling link') {
        throw new InvalidArgumentError(`${name} ${value}: ${path} is a link to nothing.`);
      }
      path = dirname(path);
    }
    const why = writable(path);
    if (why !== undefined) {
      throw new InvalidArgumentError(
        `${name} ${value}: nothing can be written in ${path} (${why}).`,
      );
    }
    return value;
  };
}

/** Shards of the seed space a hunt can be split into. */
export const SHARD_COUNT_MAX = 1_000_000;

/** `i/n`: the seeds k with k mod n = i. */
export function shard(value: string): { index: number; count: number } {
  const match = /^(\d{1,7})\/(\d{1,7})$/.exec(value);
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (match === null || count < 1 || count > SHARD_COUNT_MAX || index >= count) {
    throw new InvalidArgumentError(
      `--shard must be i/n with 0 <= i < n <= ${SHARD_COUNT_MAX}, e.g. 0/4.`,
    );
  }
  return { index, count };
}

/** --devices: the scenario's device list cut or repeated (run, soak). */
export const devicesOption = (): Option =>
  new Option('--devices <n>', 'devices: the scenario list cut or repeated').argParser(
    integer('--devices', 1, 64),
  );

/** --vms: the scenario's VM list cut or repeated (run, soak). */
export const vmsOption = (): Option =>
  new Option('--vms <n>', 'VMs: the scenario list cut or repeated').argParser(
    integer('--vms', 0, 64),
  );

/** --no-progress, --json and --report: how a command shows its report and keeps it. */
export const reportOptions = (): Option[] => [
  new Option('--no-progress', 'no progress bar'),
  new Option('--json', 'print the report as JSON').default(false),
  new Option(
    '--report <file>',
    'also write the report as JSON to this file (atomically; partial if interrupted)',
  ).argParser(outputFile('--report')),
];
