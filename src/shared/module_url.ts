/**
 * The URL of one of vmmsim's own files, from any module, bundled or not. The command line
 * runs as one bundled file (`dist/src/main/cli/cli.bundle.js`), where every module's
 * `import.meta.url` names the bundle, so a path relative to a module's own folder would point
 * beside the bundle instead. Paths here are relative to the package's `src` folder:
 * `dist/src/` when built, `src/` when running from sources.
 */
const here = import.meta.url;

/** The package's `src` folder: the last `/src/` in this module's URL (none below is so named). */
const srcFolder = new URL(here.slice(0, here.lastIndexOf('/src/') + '/src/'.length));

/** `path` (e.g. `workers/actor_worker.js`, `../bench/workers/owner_worker.js`) in the package. */
export function srcUrl(path: string): URL {
  return new URL(path, srcFolder);
}

/** Whether this module runs from its .ts source (tsx, the tests), not from dist/. */
export const fromSources = here.endsWith('.ts');
