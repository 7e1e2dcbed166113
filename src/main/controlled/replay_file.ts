/**
 * Replay files: small, versioned JSON that reproduces one controlled run exactly — the
 * scenario, the options, the seed, the scheduler's decisions and the failure it found.
 * Written to a temporary file and renamed, so a reader never sees half a file; read back
 * with a schema, so a truncated, foreign or newer file is one clear sentence, exit 2.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { formatBytes } from '../../shared/machine_size.js';
import { printable } from '../../shared/scenario/load.js';
import * as z from '../../shared/scenario/schema.js';
import { writeFileAtomic } from '../../shared/atomic_write.js';

export const REPLAY_FORMAT = 'vmmsim-replay';
export const REPLAY_VERSION = 2;
/** A replay of a million decisions is a few MiB; a bigger file is refused before it is read. */
export const REPLAY_FILE_BYTES_MAX = 64 << 20;

const failureSchema = z.strictObject({
  kind: z.enum(['violation', 'data', 'assertion', 'threw', 'hung', 'divergence']),
  message: z.string(),
  step: z.intFrom(0),
  actor: z.optional(z.string()),
  phase: z.optional(z.enum(['wind-down', 'finish'])),
  stack: z.optional(z.string()),
});

const replaySchema = z.strictObject({
  format: z.literal(REPLAY_FORMAT),
  version: z.number().check(z.int()),
  scenario: z.strictObject({
    kind: z.enum(['module', 'json']),
    /** Relative to the replay file's folder. */
    path: z.string().check(z.minLength(1)),
    /** The scenario file's content when the run was recorded. */
    sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
    name: z.string(),
  }),
  scheduler: z.enum(['pct', 'random', 'replay', 'shrink', 'explore']),
  seed: z.intFrom(0),
  options: z.strictObject({
    stepsMax: z.intFrom(1),
    checkEvery: z.intFrom(0),
    interruptPer1024: z.intIn(0, 1024),
  }),
  decisions: z.array(z.intIn(0, 1023)).check(z.minLength(1), z.maxLength(1_000_000)),
  actorNames: z.array(z.string()),
  traceHash: z.string().check(z.regex(/^[0-9a-f]{8}$/)),
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

/** The SHA-256 of a scenario file's content (hex). */
export function scenarioHash(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** The head of a replay file: format, version and the scenario it replays, hashed now. */
export function replayHead(
  source: { kind: 'module' | 'json'; path: string },
  name: string,
): Pick<ReplayFile, 'format' | 'version' | 'scenario'> {
  const scenario = {
    kind: source.kind,
    path: source.path,
    sha256: scenarioHash(source.path),
    name,
  };
  return { format: REPLAY_FORMAT, version: REPLAY_VERSION, scenario };
}

/** Whether `path` is `folder` or inside it. */
function inside(folder: string, path: string): boolean {
  const rel = relative(folder, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** The folder of vmmsim's own scenarios (trusted wherever a replay file lies). */
function shippedScenarios(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'scenarios');
}

/**
 * Reads and checks a replay file; the scenario path comes back absolute. A replay file may
 * name a scenario in its own folder (or below it) or one of vmmsim's own; any other needs
 * the user to name it (`scenario`, from the command line), so that a replay file someone
 * sent cannot make vmmsim import a module of their choosing.
 */
export function readReplayFile(path: string, scenario?: string): ReplayFile {
  const replay = parseReplayFile(path);
  if (scenario !== undefined) {
    return { ...replay, scenario: { ...replay.scenario, path: resolve(scenario) } };
  }
  const named = namedBy(path, replay);
  if (!named.trusted) {
    throw new ReplayFileError(
      `${path}: its scenario ${replay.scenario.path} is outside the replay file's folder; ` +
        `name it on the command line to run it: --scenario ${relative(process.cwd(), named.path)}`,
    );
  }
  return { ...replay, scenario: { ...replay.scenario, path: named.path } };
}

/** The scenario a replay file names (absolute), and whether it may run it unasked. */
function namedBy(path: string, replay: ReplayFile): { path: string; trusted: boolean } {
  const folder = dirname(resolve(path));
  const named = resolve(folder, replay.scenario.path);
  // Links resolved: a link in the folder to a module elsewhere is elsewhere.
  const real = realOrSelf(named);
  const trusted = [realOrSelf(folder), realOrSelf(shippedScenarios())].some((f) => inside(f, real));
  return { path: named, trusted };
}

/** The path with every link resolved, or itself when it does not exist. */
function realOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** The scenario the replay file at `path` names, and whether it may run it unasked. */
export function scenarioNamedBy(path: string): { path: string; trusted: boolean } {
  return namedBy(path, parseReplayFile(path));
}

/** The scenario a replay file records, checked against the file the run will load. */
export function checkScenario(replay: ReplayFile, kind: 'module' | 'json'): string | undefined {
  if (kind !== replay.scenario.kind) {
    throw new ReplayFileError(
      `${replay.scenario.path}: a ${kind} scenario; the replay file recorded a ` +
        `${replay.scenario.kind} scenario`,
    );
  }
  let now: string;
  try {
    now = scenarioHash(replay.scenario.path);
  } catch {
    throw new ReplayFileError(`${replay.scenario.path}: the scenario cannot be read`);
  }
  if (now === replay.scenario.sha256) return undefined;
  const then = replay.scenario.sha256.slice(0, 12);
  const changed = `sha256 ${then}… then, ${now.slice(0, 12)}… now`;
  return `the scenario changed since the replay was recorded (${changed})`;
}

/** Reads a replay file and checks its form; the scenario path stays as written. */
function parseReplayFile(path: string): ReplayFile {
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
  return parsed.data;
}
