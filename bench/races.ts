/**
 * The race-reproduction benchmarks (`npm run bench:races`): how many controlled runs one
 * thread does per second (a 4-actor scenario of about 200 steps; aim: 2,000/s), and how a
 * hunt scales from one pool thread to two (aim: at least 1.7×). Ratios within one run;
 * every run checked to have succeeded. Targets print MET or MISSED; only a failed check
 * exits 1 (timing never decides a test).
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../src/shared/atomic_write.js';
import { runControlled } from '../src/main/controlled/controlled.js';
import { Hunt } from '../src/main/controlled/hunt.js';
import { RandomScheduler } from '../src/main/controlled/schedulers/random.js';
import { loadScenario } from '../src/shared/scenario/load.js';
import { benchEnvironment, environmentLine } from './env.js';

const here = dirname(fileURLToPath(import.meta.url));
const scenarioPath = join(here, `race_scenario${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`);
const quick = process.argv.includes('--quick');
const STEPS = 200;

async function runsPerSecond(
  seconds: number,
): Promise<{ runs: number; perSecond: number; steps: number }> {
  const scenario = await loadScenario({ kind: 'module', path: scenarioPath });
  const options = { stepsMax: STEPS, checkEvery: 0, interruptPer1024: 0 };
  for (let seed = 0; seed < 50; seed++)
    await runControlled(scenario, { ...options, seed }, new RandomScheduler(seed));
  let runs = 0;
  let steps = 0;
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    const result = await runControlled(
      scenario,
      { ...options, seed: runs },
      new RandomScheduler(runs),
    );
    if (result.failure !== undefined || result.steps < STEPS) {
      throw new Error(
        `benchmark run ${runs} did not succeed: ${result.failure?.message ?? `${result.steps} steps`}`,
      );
    }
    runs += 1;
    steps += result.steps;
  }
  return { runs, perSecond: runs / ((performance.now() - started) / 1000), steps: steps / runs };
}

async function huntRate(jobs: number, runs: number): Promise<number> {
  const source = { kind: 'module' as const, path: scenarioPath };
  const hunt = new Hunt(source, await loadScenario(source), {
    runs,
    seedStart: 1,
    scheduler: 'random',
    depth: 3,
    stepsMax: STEPS,
    checkEvery: 0,
    interruptPer1024: 0,
    keepGoing: true,
    shard: { index: 0, count: 1 },
    jobs,
    outDir: join(here, 'results'),
  });
  const report = await hunt.run();
  if (report.failures.length > 0 || report.runs !== runs) {
    throw new Error(
      `the benchmark hunt did not succeed: ${report.runs} runs, ${report.failures.length} failures`,
    );
  }
  return report.runsPerSecond;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const env = benchEnvironment({ quick, steps: STEPS });
  console.log(environmentLine(env));
  const single = await runsPerSecond(quick ? 2 : 6);
  console.log(
    `controlled runs, one thread: ${fmt(single.perSecond)} runs/s (${fmt(single.runs)} runs of ${single.steps.toFixed(0)} decisions, 4 actors)`,
  );
  const runs = quick ? 2000 : 8000;
  await huntRate(2, 200); // warm-up: pool threads, module loading
  const one = await huntRate(1, runs);
  const two = await huntRate(2, runs);
  const ratio = two / one;
  console.log(
    `hunt, ${fmt(runs)} runs: 1 thread ${fmt(one)} runs/s, 2 threads ${fmt(two)} runs/s: ${ratio.toFixed(2)}×`,
  );
  const targets = [
    {
      target: 'controlled runs/s, one thread ≥ 2,000',
      value: single.perSecond,
      met: single.perSecond >= 2000,
    },
    { target: 'hunt on 2 threads ≥ 1.7× one', value: ratio, met: ratio >= 1.7 },
  ];
  for (const t of targets)
    console.log(`  ${t.met ? 'MET   ' : 'MISSED'} ${t.target}: ${t.value.toFixed(2)}`);
  const dir = join(process.cwd(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, quick ? 'races-quick.json' : 'races.json');
  writeFileAtomic(
    out,
    `${JSON.stringify({ env, single, hunt: { runs, one, two, ratio }, targets }, null, 2)}\n`,
  );
  console.log(`written ${out}`);
}

await main();
