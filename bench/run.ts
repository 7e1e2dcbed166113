/**
 * `vmmsim bench` (`npm run bench`): the benchmark suite, from compiled JS. It answers,
 * with numbers measured side by side in one run: how fast is each service (micro), how does
 * throughput grow with workers under each locking policy (scaling), and how far is vmmsim
 * from the message-passing design (baseline). It prints tables and the targets, and writes
 * a JSON record (with the environment) and the scaling chart.
 * Exit codes: 0 when every benchmark measured a succeeding path — even if a target is
 * missed, since timing never decides; 1 when a benchmark's correctness check failed; 2 on
 * bad options.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../src/shared/atomic_write.js';
import { packageRoot } from '../src/main/runtime/run_scenario.js';
import type { LockingPolicy } from '../src/shared/config.js';
import { runBaseline, type BaselinePoint } from './baseline.js';
import type { BenchFlags, Group } from './options.js';
import { benchEnvironment, cpuSample, environmentLine, foreignLoad } from './env.js';
import { runComplexity } from './complexity.js';
import { runMainJob } from './main_job.js';
import { runRaceRates } from './race_rates.js';
import { runMicro } from './micro.js';
import {
  baselineTable,
  type BenchResults,
  busyMachineWarning,
  chartSeries,
  complexityTable,
  microTable,
  scalingTable,
  targets,
  targetTable,
} from './report.js';
import { type CeilingPoint, runCeilingPoint } from './ceiling.js';
import { medianRepeat, runChainPoint, runScaling, type ScalingPoint } from './scaling.js';
import { scalingSvg } from './svg.js';

type Flags = BenchFlags;

/** Windows and sweeps of a full run and of --quick (under a minute on 2 cores). */
function plan(flags: Flags) {
  const quick = flags.quick;
  const workerCounts = flags.workers ?? [1, 2, 4, 8, 16];
  return {
    quick,
    workerCounts,
    // Two threads on one lock run in phases of seconds at about 0.85x or 0.45x one thread
    // (seen on an idle machine too): five interleaved repeats make the median the usual one.
    repeats: quick ? 1 : 5,
    mixRepeats: quick ? 1 : 3,
    warmupCalls: quick ? 200_000 : 500_000,
    warmupMs: quick ? 100 : 300,
    windowMs: quick ? 300 : 700,
    mixWindowMs: quick ? 500 : 1000,
    baselineCounts: quick ? workerCounts.filter((n) => n <= 2) : workerCounts,
    baselineWindowMs: quick ? 300 : 1000,
  };
}
type Plan = ReturnType<typeof plan>;

const progress = (line: string): boolean => process.stderr.write(`  ${line}\n`);

async function runScalingGroup(p: Plan): Promise<Pick<BenchResults, 'scaling' | 'ceiling'>> {
  const o = {
    workerCounts: p.workerCounts,
    policies: ['fine', 'global'] as LockingPolicy[],
    repeats: p.repeats,
    warmupCalls: p.warmupCalls,
    warmupMs: p.warmupMs,
    onPoint: (q: ScalingPoint): boolean =>
      progress(
        `scaling ${q.mode}/${q.locking}/${q.workers}: ${Math.round(q.opsPerSecond)} calls/s`,
      ),
  };
  const ceilingRuns: CeilingPoint[][] = p.workerCounts.map(() => []);
  const onRepeat = async (): Promise<void> => {
    for (const [i, workers] of p.workerCounts.entries()) {
      const before = cpuSample();
      const point = await runCeilingPoint(workers, p.windowMs);
      const foreign = foreignLoad(before, cpuSample(), availableParallelism());
      ceilingRuns[i]!.push(foreign === undefined ? point : { ...point, foreignLoad: foreign });
    }
  };
  const chains = await runScaling({
    ...o,
    modes: ['own', 'shared'],
    windowMs: p.windowMs,
    onRepeat,
  });
  const mix = await runScaling({
    ...o,
    modes: ['mix'],
    repeats: p.mixRepeats,
    windowMs: p.mixWindowMs,
  });
  const ceiling = ceilingRuns.map((runs) => medianRepeat(runs, (c) => c.iterationsPerSecond));
  return { scaling: [...chains, ...mix], ceiling };
}

/** vmmsim's own-region fine points at the baseline's counts: from scaling, or measured now. */
async function directPoints(p: Plan, scaling: ScalingPoint[] | undefined): Promise<ScalingPoint[]> {
  const direct: ScalingPoint[] = [];
  for (const workers of p.baselineCounts) {
    const known = scaling?.find(
      (q) => q.mode === 'own' && q.locking === 'fine' && q.workers === workers,
    );
    direct.push(known ?? (await runChainPoint({ mode: 'own', locking: 'fine', workers, ...p })));
  }
  return direct;
}

async function runGroups(p: Plan, only: Group | undefined): Promise<BenchResults> {
  const results: BenchResults = {};
  const wanted = (g: Group): boolean => only === undefined || only === g;
  if (wanted('micro')) {
    progress('micro: mitata, one thread');
    results.micro = await runMicro({ quick: p.quick });
    progress('micro: the complexity table (booted, +2,000 blocks, 16× RAM)');
    results.complexity = await runComplexity({ quick: p.quick });
  }
  if (wanted('scaling')) Object.assign(results, await runScalingGroup(p));
  if (wanted('baseline')) {
    results.direct = await directPoints(p, results.scaling);
    results.baseline = await runBaseline({
      workerCounts: p.baselineCounts,
      transports: ['postMessage', 'comlink'],
      warmupMs: p.warmupMs,
      windowMs: p.baselineWindowMs,
      onPoint: (b: BaselinePoint) =>
        progress(`baseline ${b.transport}/${b.workers}: ${Math.round(b.opsPerSecond)} calls/s`),
    });
  }
  if (wanted('job')) {
    progress('job: vmmsim run --calls 1, then the default scenario');
    results.job = runMainJob(p.quick);
  }
  if (wanted('races')) {
    progress('races: controlled runs on one thread, then a hunt on 1 and 2 pool threads');
    results.races = await runRaceRates(p.quick);
  }
  return results;
}

function print(results: BenchResults, header: string, seconds: number): void {
  const out: string[] = [header, ''];
  if (results.micro !== undefined) out.push(microTable(results.micro), '');
  if (results.complexity !== undefined) out.push(complexityTable(results.complexity), '');
  if (results.scaling !== undefined) {
    out.push(scalingTable(results.scaling, results.ceiling ?? []));
    out.push(
      'own/shared: _XchgFreePhysReg chains, every call checked; default mix: the default ' +
        "scenario's devices and DOS VMs, whose\nmodels differ, so its min/max compares " +
        'unlike actors; wait ms: time spent waiting for locks, summed over workers.',
      '',
    );
  }
  if (results.baseline !== undefined)
    out.push(baselineTable(results.baseline, results.direct ?? []), '');
  const list = targets(results);
  if (list.length > 0) out.push(targetTable(list), '');
  const warning = busyMachineWarning(results);
  if (warning !== undefined) out.push(warning, '');
  const other =
    results.foreignLoad === undefined
      ? ''
      : ` Other processes used ${Math.round(results.foreignLoad * 100)}% of the cores meanwhile.`;
  out.push(
    `All numbers are from this one run on this machine; compare them as ratios. ` +
      `${seconds.toFixed(1)} s in all.${other}`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
}

function outputPaths(flags: Flags): { json: string; svg: string } {
  const stem = flags.quick ? 'quick' : flags.only !== undefined ? `only-${flags.only}` : 'latest';
  // In a checkout, bench/results; installed as a package, vmmsim-bench/ in this folder.
  const root = packageRoot();
  const inCheckout = existsSync(join(root, 'bench', 'run.ts'));
  const dir = inCheckout ? join(root, 'bench', 'results') : resolve('vmmsim-bench');
  return {
    json: flags.json ?? join(dir, `${stem}.json`),
    svg: flags.svg ?? join(dir, stem === 'latest' ? 'scaling.svg' : `${stem}-scaling.svg`),
  };
}

function write(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, text); // a reader (or a stopped run) never sees half a file
}

/** Runs the suite with parsed flags (the CLI's `bench` command); resolves to the exit code. */
export async function bench(flags: Flags): Promise<number> {
  const p = plan(flags);
  const env = benchEnvironment({ ...p, only: flags.only ?? 'all' });
  const started = performance.now();
  process.stderr.write(`vmmsim bench${p.quick ? ' --quick' : ''}: ${environmentLine(env)}\n`);
  let results: BenchResults;
  const before = cpuSample();
  try {
    results = await runGroups(p, flags.only);
    const foreign = foreignLoad(before, cpuSample(), env.cores);
    if (foreign !== undefined) results.foreignLoad = foreign;
  } catch (error) {
    process.stderr.write(
      `bench: a benchmark measured a failing path: ${(error as Error).message}\n`,
    );
    return 1;
  }
  const seconds = (performance.now() - started) / 1000;
  print(results, `vmmsim bench — ${environmentLine(env)}`, seconds);
  const paths = outputPaths(flags);
  const warning = busyMachineWarning(results) ?? null;
  const record = { environment: env, seconds, targets: targets(results), warning, ...results };
  write(paths.json, `${JSON.stringify(record, null, 2)}\n`);
  process.stdout.write(`Wrote ${paths.json}\n`);
  if (results.scaling !== undefined) {
    const commit = env.commit === 'unknown' ? 'unknown' : env.commit.slice(0, 10);
    const svg = scalingSvg({
      title: 'vmmsim: service calls per second against worker threads',
      subtitle: `${env.cpu}, ${env.cores} cores, Node ${env.node}, commit ${commit}`,
      workerCounts: p.workerCounts,
      series: chartSeries(results),
    });
    write(paths.svg, svg);
    process.stdout.write(`Wrote ${paths.svg}\n`);
  }
  return 0;
}
