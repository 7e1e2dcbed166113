/**
 * Starting a worker entry of src/workers the same way from sources and from dist/: from
 * .ts sources through bootstrap.mjs (tsx), from built .js directly. It does not manage the
 * worker's life: the coordinator's worker host does.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
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
  // The build bundles the actor worker into one file: eight workers of a run each compile
  // one module instead of about a hundred (run --calls 1: 1.25 s -> 0.85 s on 2 cores).
  const bundle = new URL(`./${name}.bundle.js`, import.meta.url);
  const entry = existsSync(fileURLToPath(bundle))
    ? bundle
    : new URL(`./${name}.js`, import.meta.url);
  return new Worker(entry, { workerData });
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
