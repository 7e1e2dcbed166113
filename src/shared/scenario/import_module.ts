/**
 * Importing a scenario module (TypeScript or JavaScript, ES module or CommonJS): tsx
 * registered only when a module needs it, the import bounded by MODULE_LOAD_MS_MAX and
 * interruptible, process.exit() refused while it loads, and whatever it threw one
 * ScenarioError with one line.
 */
import { pathToFileURL } from 'node:url';
import { ScenarioError } from './scenario_error.js';

/** A module still loading after this long (a top-level await that never ends) is refused. */
export const MODULE_LOAD_MS_MAX = 20_000;

/** One line for whatever an import threw (a module may throw anything, null included). */
export function firstLine(error: unknown): string {
  try {
    const text = error instanceof Error ? error.message : `threw ${String(error)}`;
    // "Transform failed with 1 error:" says what on the next line.
    const [first = '', second] = text.split('\n');
    return first.endsWith(':') && second !== undefined ? `${first} ${second.trim()}` : first;
  } catch {
    return 'it threw a value that cannot be printed';
  }
}

let tsxRegistered = false;

/**
 * TypeScript for import() and require() alike: a .ts file in a folder whose package.json
 * says "type": "commonjs" (what `npm init -y` writes) is a CommonJS module, and with the ESM
 * hooks alone Node fails it as a require cycle.
 */
async function registerTypeScript(): Promise<void> {
  if (tsxRegistered || import.meta.url.endsWith('.ts')) return;
  (await import('tsx/esm/api')).register();
  (await import('tsx/cjs/api')).register();
  tsxRegistered = true;
}

/** An ES module's default export, or a CommonJS one's (module.exports or TS's exports.default). */
function defaultExport(module: { default?: unknown }): unknown {
  const value = module.default;
  if (value === null || typeof value !== 'object') return value;
  const compiled = value as { __esModule?: unknown; default?: unknown };
  return compiled.__esModule === true && 'default' in compiled ? compiled.default : value;
}

/**
 * Imports a scenario module, bounded by MODULE_LOAD_MS_MAX; a failure is one ScenarioError.
 * tsx reports a syntax error in a .ts module as a require cycle; the module is compiled once
 * more with tsImport to say what the syntax error is.
 */
export async function importScenario(
  path: string,
  signal?: AbortSignal,
): Promise<{ value: unknown }> {
  await registerTypeScript();
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  // Bounded, and interruptible: Ctrl-C (the signal) ends the wait too.
  const timeout = new Promise<never>((_, reject) => {
    const seconds = MODULE_LOAD_MS_MAX / 1000;
    timer = setTimeout(() => {
      reject(new ScenarioError(`${path}: the module did not finish loading in ${seconds} s`));
    }, MODULE_LOAD_MS_MAX);
    onAbort = () => reject(new ScenarioError(`${path}: interrupted while the module loaded`));
    if (signal?.aborted === true) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  // A module that calls process.exit() while it loads would end vmmsim without a word.
  const exit = process.exit;
  process.exit = ((code?: number | string | null) => {
    throw new ScenarioError(`${path}: the module called process.exit(${code ?? ''}) while loading`);
  }) as typeof process.exit;
  try {
    const module = (await Promise.race([import(pathToFileURL(path).href), timeout])) as {
      default?: unknown;
    };
    // Boxed: a default export with a `then` (a thenable, a Proxy) is not awaited here.
    return { value: defaultExport(module) };
  } catch (error) {
    if (error instanceof ScenarioError) throw error;
    let reason = firstLine(error);
    if ((error as { code?: unknown } | null)?.code === 'ERR_REQUIRE_CYCLE_MODULE') {
      const { tsImport } = await import('tsx/esm/api');
      reason = await tsImport(path, import.meta.url).then(() => reason, firstLine);
    }
    throw new ScenarioError(`${path}: the module cannot be loaded: ${reason}`);
  } finally {
    process.exit = exit;
    clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
  }
}
