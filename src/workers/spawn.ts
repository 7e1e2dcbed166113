/**
 * Starting a worker entry the same way from sources and from dist/: from .ts sources through
 * bootstrap.mjs (tsx), from built .js directly. An entry is a name in src/workers or the URL
 * of a module written with its built `.js` name (a pool task of controlled mode, a worker of
 * the bench or of the tests). It does not manage the worker's life: the worker host does.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { srcUrl } from '../shared/module_url.js';

const fromSources = import.meta.url.endsWith('.ts');

/** An entry's module: `src/workers/<name>`, or the given URL; `.ts` when running from sources. */
function entryUrl(entry: string | URL): URL {
  const url = typeof entry === 'string' ? srcUrl(`workers/${entry}.js`) : entry;
  return fromSources ? new URL(url.href.replace(/\.js$/, '.ts')) : url;
}

/**
 * Starts a worker entry with `workerData` (plus the entry for the bootstrap). `bundled: false`
 * starts the entry's modules even where the build bundled it: a worker that will import a
 * scenario module (which imports 'vmmsim') then shares the package's modules with it instead
 * of compiling both the bundle and the package (example.ts, --calls 1: 1.8 s -> 1.3 s).
 */
export function spawnWorker(
  entry: string | URL,
  workerData: Record<string, unknown>,
  { bundled: useBundle = true }: { bundled?: boolean } = {},
): Worker {
  const url = entryUrl(entry);
  if (fromSources) {
    return new Worker(srcUrl('workers/bootstrap.mjs'), {
      workerData: { ...workerData, vmmsimEntry: url.href },
    });
  }
  // The build bundles the actor worker into one file: eight workers of a run each compile
  // one module instead of about a hundred (run --calls 1: 1.25 s -> 0.85 s on 2 cores).
  const bundle = new URL(url.href.replace(/\.js$/, '.bundle.js'));
  const start = useBundle && existsSync(fileURLToPath(bundle)) ? bundle : url;
  return new Worker(start, { workerData });
}

/** The module file and workerData that make piscina run an entry as its task. */
export function poolTask(entry: string | URL): {
  filename: string;
  workerData: Record<string, unknown>;
} {
  const url = entryUrl(entry);
  if (fromSources) {
    return {
      filename: srcUrl('workers/piscina_bootstrap.mjs').href,
      workerData: { vmmsimEntry: url.href },
    };
  }
  return { filename: url.href, workerData: {} };
}
