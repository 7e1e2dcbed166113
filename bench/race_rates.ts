/**
 * Race reproduction, measured: how many controlled runs one thread does per second (a
 * 4-actor scenario of about 200 decisions, race_scenario.ts), and how a hunt scales from one
 * pool thread to two. Every run is checked to have succeeded. `vmmsim bench` (group races)
 * and `npm run bench:races` both call these.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runControlled } from '../src/main/controlled/controlled.js';
import { Hunt } from '../src/main/controlled/hunt.js';
import { RandomScheduler } from '../src/main/controlled/schedulers/random.js';
import { fromSources, srcUrl } from '../src/shared/module_url.js';
import { loadScenario } from '../src/shared/scenario/load.js';

const scenarioPath = fileURLToPath(srcUrl(`../bench/race_scenario.${fromSources ? 'ts' : 'js'}`));
const source = { kind: 'module' as const, path: scenarioPath };
export const RACE_STEPS = 200;

export interface RaceRates {
  single: { runs: number; perSecond: number; steps: number };
  hunt: { runs: number; one: number; two: number; ratio: number };
}

/** Controlled runs one after another on this thread for `seconds` (after 50 to warm up). */
export async function controlledRunsPerSecond(seconds: number): Promise<RaceRates['single']> {
  const scenario = await loadScenario(source);
  const options = { stepsMax: RACE_STEPS, checkEvery: 0, interruptPer1024: 0 };
  for (let seed = 0; seed < 50; seed++)
    await runControlled(scenario, { ...options, seed }, new RandomScheduler(seed));
  let runs = 0;
  let steps = 0;
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    const seed = runs;
    const result = await runControlled(scenario, { ...options, seed }, new RandomScheduler(seed));
    if (result.failure !== undefined || result.steps < RACE_STEPS) {
      const why = result.failure?.message ?? `${result.steps} steps`;
      throw new Error(`benchmark run ${runs} did not succeed: ${why}`);
    }
    runs += 1;
    steps += result.steps;
  }
  return { runs, perSecond: runs / ((performance.now() - started) / 1000), steps: steps / runs };
}

/** Runs per second of a hunt of `runs` runs on `jobs` pool threads (none may fail). */
async function huntRate(jobs: number, runs: number, outDir: string): Promise<number> {
  const hunt = new Hunt(source, await loadScenario(source), {
    runs,
    seedStart: 1,
    scheduler: 'random',
    depth: 3,
    stepsMax: RACE_STEPS,
    checkEvery: 0,
    interruptPer1024: 0,
    keepGoing: true,
    shard: { index: 0, count: 1 },
    jobs,
    outDir,
  });
  const report = await hunt.run();
  if (report.failures.length > 0 || report.runs !== runs) {
    const what = `${report.runs} runs, ${report.failures.length} failures`;
    throw new Error(`the benchmark hunt did not succeed: ${what}`);
  }
  return report.runsPerSecond;
}

/** A hunt of `runs` runs on one pool thread, then on two (after a warm-up of 200 on two). */
export async function huntScaling(runs: number): Promise<RaceRates['hunt']> {
  const outDir = mkdtempSync(join(tmpdir(), 'vmmsim-bench-hunt-'));
  try {
    await huntRate(2, 200, outDir); // pool threads, module loading
    const one = await huntRate(1, runs, outDir);
    const two = await huntRate(2, runs, outDir);
    return { runs, one, two, ratio: two / one };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

/** Both race benchmarks: about 20 s, or 5 s with `quick`. */
export async function runRaceRates(quick: boolean): Promise<RaceRates> {
  const single = await controlledRunsPerSecond(quick ? 2 : 6);
  const hunt = await huntScaling(quick ? 2000 : 8000);
  return { single, hunt };
}
