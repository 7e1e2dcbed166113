/**
 * A pool task of `vmmsim explore`: explores a chunk of subtrees of one scenario's schedule
 * tree in controlled mode on this thread (main/explore.ts) and returns the counts and the
 * first failure. The scenario is loaded once per thread. Piscina owns the thread.
 */
import { exploreItems } from './explore.js';
import type { ExploreCount, ExploreItem, ExploreRunOptions } from './explore.js';
import type { ExploreTask as TaskOf } from '../../shared/protocol.js';
import type { ScenarioDefinition } from '../../shared/scenario/scenario.js';
import { loadScenario } from '../../shared/scenario/load.js';

/** The task on the wire (protocol.ts) with explore's payload types, and what it returns. */
export type ExploreTask = TaskOf<ExploreRunOptions, ExploreItem>;
export type ExploreTaskResult = ExploreCount;

const loaded = new Map<string, Promise<ScenarioDefinition>>();

export default async function exploreChunk(task: ExploreTask): Promise<ExploreTaskResult> {
  const key = JSON.stringify(task.source);
  if (!loaded.has(key)) loaded.set(key, loadScenario(task.source));
  const scenario = await loaded.get(key)!;
  return exploreItems(scenario, task.options, task.items, task.claims);
}
