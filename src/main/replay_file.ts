/**
 * Replay files: small, versioned JSON that reproduces one controlled run exactly — the
 * scenario, the options, the seed, the scheduler's decisions and the failure it found.
 * Written to a temporary file and renamed, so a reader never sees half a file; read back
 * with a schema, so a truncated, foreign or newer file is one clear sentence, exit 2.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { z } from 'zod';
import { formatBytes } from '../shared/machine_size.js';
import { printable } from '../workers/scenario_load.js';
import { writeFileAtomic } from './atomic_write.js';

export const REPLAY_FORMAT = 'vmmsim-replay';
export const REPLAY_VERSION = 1;
/** A replay of a million decisions is a few MiB; a bigger file is refused before it is read. */
export const REPLAY_FILE_BYTES_MAX = 64 << 20;

const failureSchema = z.strictObject({
  kind: z.enum(['violation', 'data', 'assertion', 'threw', 'hung', 'divergence']),
  message: z.string(),
  step: z.number().int().min(0),
  actor: z.string().optional(),
});

const replaySchema = z.strictObject({
  format: z.literal(REPLAY_FORMAT),
  version: z.number().int(),
  scenario: z.strictObject({ kind: z.enum(['module', 'json']), path: z.string().min(1) }),
  scheduler: z.enum(['pct', 'random', 'replay', 'shrink']),
  seed: z.number().int().min(0),
  options: z.strictObject({
    stepsMax: z.number().int().min(1),
    checkEvery: z.number().int().min(0),
    interruptPer1024: z.number().int().min(0).max(1024),
  }),
  decisions: z.array(z.number().int().min(0).max(1023)).max(1_000_000),
  actorNames: z.array(z.string()),
  traceHash: z.string().regex(/^[0-9a-f]{8}$/),
  failure: failureSchema,
});

export type ReplayFile = z.infer<typeof replaySchema>;

/** A replay file that is missing, foreign, truncated or of another version. Exit code 2. */
export class ReplayFileError extends Error {
  override name = 'ReplayFileError';
  constructor(message: string) {
    super(printable(message));
  }
}

/** Writes `replay` to `path` atomically; the scenario path is stored relative to the file. */
export function writeReplayFile(path: string, replay: ReplayFile): void {
  const scenarioPath = isAbsolute(replay.scenario.path)
    ? relative(dirname(resolve(path)), replay.scenario.path)
    : replay.scenario.path;
  const data = { ...replay, scenario: { ...replay.scenario, path: scenarioPath } };
  writeFileAtomic(path, `${JSON.stringify(data, null, 1)}\n`);
}

/** The file's text; a missing file, a folder or a file too big is one sentence. */
function readText(path: string): string {
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) throw new ReplayFileError(`${path}: a folder, not a replay file`);
    if (stat.size > REPLAY_FILE_BYTES_MAX) {
      throw new ReplayFileError(
        `${path}: ${formatBytes(stat.size)}; a replay file is at most ` +
          `${formatBytes(REPLAY_FILE_BYTES_MAX)}`,
      );
    }
    return readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof ReplayFileError) throw error;
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new ReplayFileError(`${path}: no such file`);
    throw new ReplayFileError(`${path}: cannot be read: ${e.message}`);
  }
}

/** The version sentence: which side is newer, so the reader knows which vmmsim to use. */
function versionMismatch(path: string, version: unknown): ReplayFileError {
  const which =
    typeof version !== 'number'
      ? 'an unknown version'
      : version > REPLAY_VERSION
        ? 'a newer vmmsim'
        : 'an older vmmsim';
  return new ReplayFileError(
    `${path}: replay format version ${String(version)}; this vmmsim reads version ` +
      `${REPLAY_VERSION} (the file was written by ${which})`,
  );
}

/** Reads and checks a replay file; the scenario path comes back absolute. */
export function readReplayFile(path: string): ReplayFile {
  const text = readText(path);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const truncated = text.trimStart().startsWith('{') ? ', truncated?' : '';
    throw new ReplayFileError(
      `${path}: not a replay file (not valid JSON${truncated}: ${(error as Error).message})`,
    );
  }
  const header = json as { format?: unknown; version?: unknown } | null;
  if (header === null || typeof header !== 'object' || header.format !== REPLAY_FORMAT)
    throw new ReplayFileError(
      `${path}: not a vmmsim replay file (no "format": "${REPLAY_FORMAT}")`,
    );
  if (header.version !== REPLAY_VERSION) throw versionMismatch(path, header.version);
  const parsed = replaySchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ReplayFileError(
      `${path}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`,
    );
  }
  const replay = parsed.data;
  const scenarioPath = resolve(dirname(resolve(path)), replay.scenario.path);
  return { ...replay, scenario: { ...replay.scenario, path: scenarioPath } };
}
