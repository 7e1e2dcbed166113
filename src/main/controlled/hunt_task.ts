/**
 * A pool task of `vmmsim hunt`: runs a batch of seeds of one scenario in controlled mode on
 * this thread and returns what each run found. The scenario is loaded once per thread.
 * Piscina owns the thread; this module only answers tasks.
 */
import { runControlled } from './controlled.js';
import { PctScheduler } from './schedulers/pct.js';
import { RandomScheduler } from './schedulers/random.js';
import type { Scheduler } from './schedulers/scheduler.js';
import type { ControlledOptions, ControlledResult } from './controlled_types.js';
import type { HuntRunResult as RunResultOf, HuntTask as TaskOf } from '../../shared/protocol.js';
import type { ScenarioDefinition } from '../../shared/scenario/scenario.js';
import { loadScenario } from '../../shared/scenario/load.js';

/** The task and its result on the wire (protocol.ts), with controlled mode's payload types. */
export type HuntTask = TaskOf<Omit<ControlledOptions, 'seed'>>;
export type HuntRunResult = RunResultOf<ControlledResult>;

const loaded = new Map<string, Promise<ScenarioDefinition>>();

/** The scheduler a hunt uses for `seed`. */
export function huntScheduler(
  kind: 'pct' | 'random',
  seed: number,
  actors: number,
  stepsMax: number,
  depth: number,
): Scheduler {
  return kind === 'pct'
    ? new PctScheduler(seed, actors, stepsMax, depth)
    : new RandomScheduler(seed);
}

export default async function huntBatch(task: HuntTask): Promise<HuntRunResult[]> {
  const key = JSON.stringify(task.source);
  if (!loaded.has(key)) loaded.set(key, loadScenario(task.source));
  const scenario = await loaded.get(key)!;
  const actors = scenario.devices.length + scenario.vms.length;
  const results: HuntRunResult[] = [];
  for (const seed of task.seeds) {
    const scheduler = huntScheduler(
      task.scheduler,
      seed,
      actors,
      task.options.stepsMax,
      task.depth,
    );
    const result = await runControlled(scenario, { ...task.options, seed }, scheduler);
    results.push({
      seed,
      steps: result.steps,
      ...(result.failure === undefined ? {} : { found: result }),
    });
  }
  return results;
}
