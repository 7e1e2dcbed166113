/**
 * The benchmark report: terminal tables of every group, the targets judged against
 * the values measured in this run, and the scaling chart's series. Pure formatting over the
 * results; it measures nothing and decides no exit code (a missed target is not an error).
 */
import type { BaselinePoint } from './baseline.js';
import type { ComplexityRow } from './complexity.js';
import type { MicroResult } from './micro.js';
import type { CeilingPoint } from './ceiling.js';
import type { ScalingMode, ScalingPoint } from './scaling.js';
import type { ChartSeries } from './svg.js';
import type { MainJob } from './main_job.js';
import type { RaceRates } from './race_rates.js';

export interface BenchResults {
  micro?: MicroResult;
  complexity?: ComplexityRow[];
  scaling?: ScalingPoint[];
  /** What threads sharing nothing get done on this machine, by worker count. */
  ceiling?: CeilingPoint[];
  /** Share of all cores other processes used during the whole run (Linux only). */
  foreignLoad?: number;
  /** vmmsim's own-region, fine-lock points the baseline is compared with. */
  direct?: ScalingPoint[];
  baseline?: BaselinePoint[];
  /** `vmmsim run` as a user runs it: start-up and the default scenario's calls per second. */
  job?: MainJob;
  /** Controlled runs per second and hunt scaling. */
  races?: RaceRates;
}

export interface Target {
  name: string;
  goal: string;
  measured: number;
  /** How the measured value reads, e.g. '2.61×'. */
  shown: string;
  met: boolean;
}

const pad = (text: string, width: number): string => text.padStart(width);
const fixed = (value: number, digits: number): string => value.toFixed(digits);
const int = (value: number): string => Math.round(value).toLocaleString('en-US');
const rate = (ops: number): string =>
  ops >= 1e6 ? `${fixed(ops / 1e6, 2)} M` : ops >= 1e3 ? `${fixed(ops / 1e3, 1)} k` : fixed(ops, 0);

/** A plain-text table; `align` has one letter per column, l or r (default: l then r…). */
function table(head: string[], widths: number[], rows: string[][], align = 'l'): string {
  const left = (i: number): boolean => (align[i] ?? 'r') === 'l';
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (left(i) ? c.padEnd(widths[i]!) : pad(c, widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

export function microTable(m: MicroResult): string {
  const rows = m.rows.map((r) => [
    r.name,
    fixed(r.nsPerCall, 1),
    fixed(r.nsPerCallP50, 1),
    fixed(r.nsPerCallP99, 1),
    r.kind === 'floor' && r.locksPerCall === 0 ? '-' : fixed(r.locksPerCall, 2),
    `${fixed(r.ratioToFloor, 2)}×`,
  ]);
  return table(
    ['one thread, ns per call', 'avg', 'p50', 'p99', 'locks', 'p50/floor'],
    [40, 9, 9, 9, 6, 10],
    rows,
  );
}

export function complexityTable(rows: ComplexityRow[]): string {
  const cells = rows.map((r) => [
    r.name,
    fixed(r.emptyNs, 1),
    fixed(r.blocksNs, 1),
    `${fixed(r.blocksRatio, 2)}×`,
    fixed(r.bigRamNs, 1),
    `${fixed(r.bigRamRatio, 2)}×`,
  ]);
  return table(
    ['p50 ns per call on three machines', 'booted', '+2,000 blocks', '', '16× RAM', ''],
    [40, 9, 13, 6, 9, 6],
    cells,
  );
}

const MODE_NAMES: Record<ScalingMode, string> = {
  own: 'own regions',
  shared: 'one shared region',
  mix: 'default mix',
};

function onePoint(points: ScalingPoint[], p: ScalingPoint): ScalingPoint | undefined {
  return points.find((q) => q.mode === p.mode && q.locking === p.locking && q.workers === 1);
}

export function scalingTable(points: ScalingPoint[], ceiling: CeilingPoint[]): string {
  const one = ceiling.find((c) => c.workers === 1);
  const ceilingRows = ceiling.map((c) => [
    'ceiling: threads sharing nothing',
    String(c.workers),
    `${rate(c.iterationsPerSecond)} it`,
    one === undefined ? '-' : `${fixed(c.iterationsPerSecond / one.iterationsPerSecond, 2)}×`,
    fixed(c.fairness, 2),
    '-',
    '-',
    '-',
    '-',
  ]);
  const rows = points.map((p) => {
    const first = onePoint(points, p);
    return [
      `${MODE_NAMES[p.mode]}, ${p.locking}`,
      String(p.workers),
      rate(p.opsPerSecond),
      first === undefined ? '-' : `${fixed(p.opsPerSecond / first.opsPerSecond, 2)}×`,
      fixed(p.fairness, 2),
      int(p.locks.contended),
      int(p.locks.waits),
      fixed(p.locks.waitUs / 1000, 1),
      p.foreignLoad === undefined ? '-' : `${Math.round(p.foreignLoad * 100)}%`,
    ];
  });
  return table(
    ['scaling', 'workers', 'calls/s', 'vs 1', 'min/max', 'contended', 'waits', 'wait ms', 'other'],
    [32, 7, 10, 7, 7, 11, 9, 9, 6],
    [...ceilingRows, ...rows],
  );
}

export function baselineTable(points: BaselinePoint[], direct: ScalingPoint[]): string {
  const rows = points.map((p) => {
    const mine = direct.find((d) => d.workers === p.workers);
    return [
      p.transport,
      String(p.workers),
      rate(p.opsPerSecond),
      fixed(p.roundTripUs, 1),
      fixed(p.fairness, 2),
      mine === undefined ? '-' : rate(mine.opsPerSecond),
      mine === undefined ? '-' : `${int(mine.opsPerSecond / p.opsPerSecond)}×`,
    ];
  });
  return table(
    ['message passing', 'workers', 'calls/s', 'µs/call', 'min/max', 'vmmsim', 'speedup'],
    [26, 7, 10, 9, 7, 10, 9],
    rows,
  );
}

function find(
  points: ScalingPoint[] | undefined,
  mode: ScalingMode,
  locking: string,
  workers: number,
): ScalingPoint | undefined {
  return points?.find((p) => p.mode === mode && p.locking === locking && p.workers === workers);
}

/** The 1-worker and 2-worker points of (mode, locking), when the run measured both. */
function oneAndTwo(
  r: BenchResults,
  mode: ScalingMode,
  locking: string,
): [ScalingPoint, ScalingPoint] | undefined {
  const one = find(r.scaling, mode, locking, 1);
  const two = find(r.scaling, mode, locking, 2);
  return one === undefined || two === undefined ? undefined : [one, two];
}

function ratioTarget(
  r: BenchResults,
  name: string,
  mode: ScalingMode,
  locking: string,
  goal: number,
): Target[] {
  const pair = oneAndTwo(r, mode, locking);
  if (pair === undefined) return [];
  const [one, two] = pair;
  const measured = two.opsPerSecond / one.opsPerSecond;
  const c1 = r.ceiling?.find((c) => c.workers === 1);
  const c2 = r.ceiling?.find((c) => c.workers === 2);
  const ceiling =
    c1 === undefined || c2 === undefined
      ? ''
      : ` (this machine's ceiling: ${fixed(c2.iterationsPerSecond / c1.iterationsPerSecond, 2)}×)`;
  const shown = `${fixed(measured, 2)}×${ceiling}`;
  return [{ name, goal: `≥ ${goal}×`, measured, shown, met: measured >= goal }];
}

/**
 * 2 workers against 1 in each repeat (the repeats interleave the worker counts, so repeat i of
 * each was measured in the same round): the goal holds only when it holds in every one.
 */
function everyRepeatTarget(
  r: BenchResults,
  name: string,
  mode: ScalingMode,
  locking: string,
  goal: number,
): Target[] {
  const pair = oneAndTwo(r, mode, locking);
  if (pair === undefined) return [];
  const [one, two] = pair;
  const ones = one.repeats ?? [one.opsPerSecond];
  const twos = two.repeats ?? [two.opsPerSecond];
  const ratios = twos.map((ops, i) => ops / (ones[i] ?? one.opsPerSecond));
  const measured = Math.min(...ratios);
  const shown = `${ratios.map((x) => fixed(x, 2)).join(', ')} (lowest ${fixed(measured, 2)}×)`;
  return [{ name, goal: `≥ ${goal}×`, measured, shown, met: measured >= goal }];
}

const DPMI_MAP = 'Int 31h 0800h + 0801h';

/** Every service against the floor, and against its own cost on a bigger, fuller machine. */
function serviceTargets(r: BenchResults): Target[] {
  const out: Target[] = [];
  const services = r.micro?.rows.filter((row) => row.kind === 'service') ?? [];
  const worstOf = <T>(rows: T[], value: (row: T) => number): T | undefined =>
    rows.reduce<T | undefined>(
      (a, c) => (a === undefined || value(c) > value(a) ? c : a),
      undefined,
    );
  const ratio = (row: { ratioToFloor: number }): number => row.ratioToFloor;
  const others = worstOf(
    services.filter((row) => !row.name.startsWith(DPMI_MAP)),
    ratio,
  );
  if (others !== undefined) {
    const measured = others.ratioToFloor;
    const shown = `${fixed(measured, 2)}× (highest: ${others.name})`;
    out.push({
      name: 'every service / floor (p50)',
      goal: '≤ 25×',
      measured,
      shown,
      met: measured <= 25,
    });
  }
  const dpmi = services.find((row) => row.name.startsWith(DPMI_MAP));
  if (dpmi !== undefined) {
    const measured = dpmi.ratioToFloor;
    const shown = `${fixed(measured, 2)}× (${fixed(dpmi.nsPerCallP50, 1)} ns)`;
    out.push({
      name: `${DPMI_MAP} / floor (p50)`,
      goal: '≤ 50×',
      measured,
      shown,
      met: measured <= 50,
    });
  }
  const rows = r.complexity ?? [];
  for (const [what, value] of [
    ['+2,000 live blocks', (row: ComplexityRow) => row.blocksRatio],
    ['16× RAM', (row: ComplexityRow) => row.bigRamRatio],
  ] as const) {
    const worst = worstOf(rows, value);
    if (worst === undefined) continue;
    const measured = value(worst);
    const shown = `${fixed(measured, 2)}× (highest: ${worst.name})`;
    out.push({
      name: `every service, ${what} / booted`,
      goal: '≤ 1.5×',
      measured,
      shown,
      met: measured <= 1.5,
    });
  }
  return out;
}

/** Start-up and the default scenario (the main job), against their targets. */
function jobTargets(job: MainJob | undefined): Target[] {
  if (job === undefined) return [];
  const wall = job.startupMedianMs;
  const runs = job.startupMs.length;
  const { callsPerSecond, calls, runMs } = job.scenario;
  const spread = `${int(Math.min(...job.startupMs))}–${int(Math.max(...job.startupMs))} ms`;
  return [
    {
      name: 'vmmsim run --calls 1, wall (median)',
      goal: '≤ 500 ms',
      measured: wall,
      shown: `${int(wall)} ms (${runs} runs, ${spread})`,
      met: wall <= 500,
    },
    {
      name: 'the default scenario, calls/s',
      goal: '≥ 500 k',
      measured: callsPerSecond,
      shown: `${rate(callsPerSecond)} (${fixed((runMs * 1000) / calls, 1)} µs of wall a call)`,
      met: callsPerSecond >= 500_000,
    },
  ];
}

/** Controlled runs per second on one thread and a hunt on two pool threads against one. */
export function raceTargets(races: RaceRates | undefined): Target[] {
  if (races === undefined) return [];
  const { single, hunt } = races;
  return [
    {
      name: 'controlled runs/s, one thread',
      goal: '≥ 5,000',
      measured: single.perSecond,
      shown: `${int(single.perSecond)} (4 actors, ${fixed(single.steps, 0)} decisions a run)`,
      met: single.perSecond >= 5000,
    },
    {
      name: 'hunt, 2 pool threads / 1',
      goal: '≥ 1.8×',
      measured: hunt.ratio,
      shown: `${fixed(hunt.ratio, 2)}× (${int(hunt.two)} / ${int(hunt.one)} runs/s)`,
      met: hunt.ratio >= 1.8,
    },
  ];
}

/** The targets that this run measured, each with its value. */
export function targets(r: BenchResults): Target[] {
  const out: Target[] = [];
  const xchg = r.micro?.rows.find((row) => row.name.startsWith('_XchgFreePhysReg'));
  if (xchg !== undefined) {
    const measured = xchg.ratioToFloor;
    const ns = `${fixed(xchg.nsPerCallP50, 1)} ns / ${fixed(r.micro!.floorNs, 1)} ns, medians`;
    const shown = `${fixed(measured, 2)}× (${ns})`;
    out.push({
      name: '_XchgFreePhysReg / lock+unlock floor',
      goal: '≤ 3×',
      measured,
      shown,
      met: measured <= 3,
    });
  }
  out.push(...serviceTargets(r));
  if (r.baseline !== undefined && r.direct !== undefined) {
    const speedups = r.baseline.flatMap((b) => {
      const mine = r.direct!.find((d) => d.workers === b.workers);
      return mine === undefined ? [] : [{ b, speedup: mine.opsPerSecond / b.opsPerSecond }];
    });
    const worst = speedups.reduce((a, c) => (c.speedup < a.speedup ? c : a), speedups[0]!);
    if (worst !== undefined) {
      const where = `${worst.b.transport}, ${worst.b.workers} workers`;
      const shown = `${int(worst.speedup)}× (lowest: ${where})`;
      out.push({
        name: 'speedup over message passing',
        goal: '≥ 100×',
        measured: worst.speedup,
        shown,
        met: worst.speedup >= 100,
      });
    }
  }
  out.push(...ratioTarget(r, 'own regions, 2 workers / 1 (fine)', 'own', 'fine', 1.7));
  out.push(...ratioTarget(r, 'default mix, 2 workers / 1 (fine)', 'mix', 'fine', 1.7));
  out.push(...ratioTarget(r, 'default mix, 2 workers / 1 (global)', 'mix', 'global', 0.9));
  for (const locking of ['fine', 'global']) {
    const each = `one shared region 2/1, each repeat (${locking})`;
    out.push(...everyRepeatTarget(r, each, 'shared', locking, 0.7));
    const two = find(r.scaling, 'shared', locking, 2);
    if (two !== undefined) {
      out.push({
        name: `one shared region, 2 workers, min/max (${locking})`,
        goal: '≥ 0.5',
        measured: two.fairness,
        shown: fixed(two.fairness, 2),
        met: two.fairness >= 0.5,
      });
    }
  }
  out.push(...jobTargets(r.job), ...raceTargets(r.races));
  return out;
}

/**
 * A warning when this run's ceiling shows that the cores were busy with other work: two
 * threads that share nothing then get far less than twice one, and no scaling ratio of the
 * run means much.
 */
export function busyMachineWarning(r: BenchResults): string | undefined {
  const one = r.ceiling?.find((c) => c.workers === 1);
  const two = r.ceiling?.find((c) => c.workers === 2);
  const ratio =
    one === undefined || two === undefined ? 2 : two.iterationsPerSecond / one.iterationsPerSecond;
  const foreign = r.foreignLoad ?? 0;
  if (ratio >= 1.6 && foreign < 0.1) return undefined;
  return (
    `WARNING: other processes used ${Math.round(foreign * 100)}% of the cores during this run` +
    ` (two threads sharing nothing got ${fixed(ratio, 2)}× one). Its ratios between thread ` +
    'counts are not reliable; run it again on an idle machine.'
  );
}

export function targetTable(list: Target[]): string {
  const rows = list.map((t) => [t.name, t.goal, t.shown, t.met ? 'PASS' : 'MISS']);
  return table(['target', 'goal', 'measured', ''], [46, 7, 48, 4], rows, 'llll');
}

const COLORS: Record<ScalingMode, string> = { own: '#1f77b4', shared: '#d62728', mix: '#2ca02c' };

/** The chart's lines: every (mode, policy) of scaling, then the baseline's transports. */
export function chartSeries(r: BenchResults): ChartSeries[] {
  const series: ChartSeries[] = [];
  for (const mode of ['own', 'shared', 'mix'] as const) {
    for (const locking of ['fine', 'global'] as const) {
      const points = (r.scaling ?? []).filter((p) => p.mode === mode && p.locking === locking);
      if (points.length === 0) continue;
      const label = `${MODE_NAMES[mode]}, ${locking}`;
      series.push({ label, color: COLORS[mode], dash: locking === 'fine' ? '' : '6 4', points });
    }
  }
  for (const transport of ['postMessage', 'comlink'] as const) {
    const points = (r.baseline ?? []).filter((p) => p.transport === transport);
    if (points.length === 0) continue;
    const dash = transport === 'postMessage' ? '' : '2 3';
    series.push({ label: `message passing (${transport})`, color: '#7f7f7f', dash, points });
  }
  return series;
}
