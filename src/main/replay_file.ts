/**
 * Replay files: small, versioned JSON that reproduces one controlled run exactly — the
 * scenario, the options, the seed, the scheduler's decisions and the failure it found.
 * Written to a temporary file and renamed, so a reader never sees half a file; read back
 * with a schema, so a truncated, foreign or newer file is one clear sentence, exit 2.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { z } from 'zod';

export const REPLAY_FORMAT = 'vmmsim-replay';
export const REPLAY_VERSION = 1;

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

export class ReplayFileError extends Error {
  override name = 'ReplayFileError';
}

/** Writes `replay` to `path` atomically; the scenario path is stored relative to the file. */
export function writeReplayFile(path: string, replay: ReplayFile): void {
  const scenarioPath = isAbsolute(replay.scenario.path)
    ? relative(dirname(resolve(path)), replay.scenario.path)
    : replay.scenario.path;
  const data = { ...replay, scenario: { ...replay.scenario, path: scenarioPath } };
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, `${JSON.stringify(data, null, 1)}\n`);
  renameSync(temporary, path);
}

/** Reads and checks a replay file; the scenario path comes back absolute. */
export function readReplayFile(path: string): ReplayFile {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new ReplayFileError(`${path}: no such file`);
    throw new ReplayFileError(`${path}: not a replay file (not valid JSON: ${e.message})`);
  }
  const header = json as { format?: unknown; version?: unknown };
  if (header?.format !== REPLAY_FORMAT)
    throw new ReplayFileError(`${path}: not a vmmsim replay file`);
  if (header.version !== REPLAY_VERSION) {
    throw new ReplayFileError(
      `${path}: replay format version ${String(header.version)}; ` +
        `this vmmsim reads version ${REPLAY_VERSION}`,
    );
  }
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
