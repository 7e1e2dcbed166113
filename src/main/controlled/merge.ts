/**
 * `vmmsim merge`: the --report files of the shards of one hunt (or one explore) joined into
 * one summary, as Playwright's merge-reports does for test shards: runs or schedules added
 * up, each distinct failure once (by signature) with how many runs of all shards hit it and
 * its earliest replay file, and the shards that are missing. Reads and checks; runs nothing.
 */
import { readFileSync, statSync } from 'node:fs';
import { OptionError } from '../../shared/config.js';
import { printable } from '../../shared/scenario/load.js';
import * as z from '../../shared/scenario/schema.js';
import { signature } from './hunt.js';

const REPORT_BYTES_MAX = 16 << 20;

const failure = z.looseObject({
  kind: z.string(),
  message: z.string(),
  step: z.number(),
  actor: z.optional(z.string()),
});
const shardSchema = z.object({ index: z.intFrom(0), count: z.intFrom(1) });
const integer = () => z.number().check(z.int());

const huntSchema = z.looseObject({
  kind: z.literal('hunt'),
  scenario: z.string(),
  scheduler: z.string(),
  depth: z.number(),
  shard: shardSchema,
  runs: integer(),
  runsPlanned: integer(),
  interrupted: z.boolean(),
  elapsedMs: z.number(),
  failures: z.array(
    z.looseObject({
      seed: z.number(),
      failure,
      hits: integer(),
      replayPath: z.string(),
    }),
  ),
});

const exploreSchema = z.looseObject({
  kind: z.literal('explore'),
  scenario: z.string(),
  preemptions: z.number(),
  stepsMax: z.number(),
  seed: z.number(),
  shard: shardSchema,
  explored: integer(),
  pruned: integer(),
  interrupted: z.boolean(),
  elapsedMs: z.number(),
  failure: z.optional(z.looseObject({ failure, preemptions: z.number(), replayPath: z.string() })),
});

const reportSchema = z.discriminatedUnion('kind', [huntSchema, exploreSchema]);
type ShardReport = z.infer<typeof reportSchema>;

export interface MergedFailure {
  signature: string;
  kind: string;
  message: string;
  /** Runs of all shards that failed this way (explore: shards that found it). */
  hits: number;
  /** The earliest: lowest seed (hunt) or lowest shard (explore). */
  replayPath: string;
  shards: number[];
}

export interface Merged {
  kind: 'hunt' | 'explore';
  scenario: string;
  /** What the shards searched with (scheduler and depth, or bound, steps and seed). */
  search: string;
  shards: { count: number; present: number[]; missing: number[] };
  runs: number;
  runsPlanned?: number;
  pruned?: number;
  interrupted: boolean;
  /** The longest shard's time. */
  elapsedMs: number;
  failures: MergedFailure[];
}

function readReport(path: string): ShardReport {
  let text: string;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new OptionError(`${path}: not a report file`);
    if (stat.size > REPORT_BYTES_MAX) throw new OptionError(`${path}: too big for a report`);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof OptionError) throw error;
    throw new OptionError(`${path}: cannot be read (${(error as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new OptionError(`${path}: not a report (not valid JSON)`);
  }
  const parsed = reportSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new OptionError(
      printable(
        `${path}: not a hunt or explore report (${issue.path.join('.')}: ${issue.message})`,
      ),
    );
  }
  return parsed.data;
}

const searchOf = (r: ShardReport): string =>
  r.kind === 'hunt'
    ? `${r.scheduler}${r.scheduler === 'pct' ? ` depth ${r.depth}` : ''}`
    : `at most ${r.preemptions} preemption(s), --steps ${r.stepsMax}, seed ${r.seed}`;

/** Reads shard reports and joins them; throws OptionError on bad or mismatched input. */
export function mergeReports(paths: readonly string[]): Merged {
  const reports = paths.map(readReport);
  const first = reports[0]!;
  const present = checkShards(paths, reports);
  const count = first.shard.count;
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !present.has(i));
  const merged: Merged = {
    kind: first.kind,
    scenario: first.scenario,
    search: searchOf(first),
    shards: { count, present: [...present].sort((a, b) => a - b), missing },
    runs: 0,
    interrupted: reports.some((r) => r.interrupted),
    elapsedMs: Math.max(...reports.map((r) => r.elapsedMs)),
    failures: [],
  };
  const failures = new Failures();
  for (const r of reports) {
    if (r.kind === 'hunt') {
      merged.runs += r.runs;
      merged.runsPlanned = (merged.runsPlanned ?? 0) + r.runsPlanned;
      for (const f of r.failures)
        failures.add(f.failure, f.hits, f.replayPath, r.shard.index, f.seed);
    } else {
      merged.runs += r.explored;
      merged.pruned = (merged.pruned ?? 0) + r.pruned;
      const f = r.failure;
      if (f) failures.add(f.failure, 1, f.replayPath, r.shard.index, r.shard.index);
    }
  }
  merged.failures = failures.list();
  return merged;
}

/** The shards given: all of one search, none twice. */
function checkShards(paths: readonly string[], reports: readonly ShardReport[]): Set<number> {
  const first = reports[0]!;
  const present = new Set<number>();
  for (const [i, r] of reports.entries()) {
    const same =
      r.kind === first.kind &&
      r.scenario === first.scenario &&
      searchOf(r) === searchOf(first) &&
      r.shard.count === first.shard.count;
    if (!same) {
      throw new OptionError(
        printable(
          `${paths[i]}: a shard of another search than ${paths[0]} (${r.kind} of ` +
            `"${r.scenario}", ${searchOf(r)}, ${r.shard.count} shards)`,
        ),
      );
    }
    if (present.has(r.shard.index))
      throw new OptionError(`${paths[i]}: shard ${r.shard.index} is given twice`);
    present.add(r.shard.index);
  }
  return present;
}

/** Distinct failures by signature, with their hits and earliest replay file. */
class Failures {
  private readonly bySignature = new Map<string, MergedFailure & { order: number }>();

  add(f: z.infer<typeof failure>, hits: number, path: string, shard: number, order: number) {
    const key = signature({ kind: f.kind as never, message: f.message, step: f.step });
    const seen = this.bySignature.get(key);
    if (seen === undefined) {
      const first = { signature: key, kind: f.kind, message: f.message, hits, replayPath: path };
      this.bySignature.set(key, { ...first, shards: [shard], order });
      return;
    }
    seen.hits += hits;
    if (!seen.shards.includes(shard)) seen.shards.push(shard);
    if (order < seen.order) Object.assign(seen, { order, replayPath: path, message: f.message });
  }

  list(): MergedFailure[] {
    return [...this.bySignature.values()]
      .sort((a, b) => a.order - b.order)
      .map(({ order: _order, ...f }) => ({ ...f, shards: f.shards.sort((a, b) => a - b) }));
  }
}
