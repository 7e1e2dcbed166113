/**
 * `npm run bench:races`: the race-reproduction benchmarks alone (race_rates.ts) — controlled
 * runs per second on one thread (target: 5,000) and a hunt on two pool threads against one
 * (target: 1.8×). `vmmsim bench` runs the same as its group `races`. Targets print MET or
 * MISSED; only a failed check exits 1 (timing never decides a test).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../src/shared/atomic_write.js';
import { benchEnvironment, environmentLine } from './env.js';
import { RACE_STEPS, runRaceRates } from './race_rates.js';
import { raceTargets } from './report.js';

const quick = process.argv.includes('--quick');
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const env = benchEnvironment({ quick, steps: RACE_STEPS });
  console.log(environmentLine(env));
  const { single, hunt } = await runRaceRates(quick);
  console.log(
    `controlled runs, one thread: ${fmt(single.perSecond)} runs/s ` +
      `(${fmt(single.runs)} runs of ${single.steps.toFixed(0)} decisions, 4 actors)`,
  );
  console.log(
    `hunt, ${fmt(hunt.runs)} runs: 1 thread ${fmt(hunt.one)} runs/s, ` +
      `2 threads ${fmt(hunt.two)} runs/s: ${hunt.ratio.toFixed(2)}×`,
  );
  const targets = raceTargets({ single, hunt });
  for (const t of targets) console.log(`  ${t.met ? 'MET   ' : 'MISSED'} ${t.name}: ${t.shown}`);
  const dir = join(process.cwd(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, quick ? 'races-quick.json' : 'races.json');
  writeFileAtomic(out, `${JSON.stringify({ env, single, hunt, targets }, null, 2)}\n`);
  console.log(`written ${out}`);
}

await main();
