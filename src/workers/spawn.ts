/**
 * Starting a worker entry of src/workers the same way from sources and from dist/: from
 * .ts sources through bootstrap.mjs (tsx), from built .js directly. It does not manage the
 * worker's life: the coordinator's worker host does.
 */
import { Worker } from 'node:worker_threads';

const fromSources = import.meta.url.endsWith('.ts');

/** Starts `src/workers/<name>` with `workerData` (plus the entry for the bootstrap). */
export function spawnWorker(name: string, workerData: Record<string, unknown>): Worker {
  if (fromSources) {
    const entry = new URL(`./${name}.ts`, import.meta.url).href;
    return new Worker(new URL('./bootstrap.mjs', import.meta.url), {
      workerData: { ...workerData, vmmsimEntry: entry },
    });
  }
  return new Worker(new URL(`./${name}.js`, import.meta.url), { workerData });
}

/** The module file and workerData that make piscina run `src/workers/<name>` as its task. */
export function poolTask(name: string): { filename: string; workerData: Record<string, unknown> } {
  if (fromSources) {
    return {
      filename: new URL('./piscina_bootstrap.mjs', import.meta.url).href,
      workerData: { vmmsimEntry: new URL(`./${name}.ts`, import.meta.url).href },
    };
  }
  return { filename: new URL(`./${name}.js`, import.meta.url).href, workerData: {} };
}
