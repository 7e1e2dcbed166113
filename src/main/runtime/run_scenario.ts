/**
 * A scenario on real threads: the scenario file or module resolved to a source, the fault to
 * inject, and the run through the coordinator (`runScenario`, the library form of `vmmsim
 * run`). The command line (cli/run_command.ts) adds the progress bar, the report and the
 * files it writes; the soak and the bench call this directly.
 */
import { existsSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type LockingPolicy,
  type LockOrderMode,
  OptionError,
  resolveOptions,
} from '../../shared/config.js';
import { Prng } from '../../shared/prng.js';
import type { FaultKind, FaultPlan, ScenarioSource } from '../../shared/protocol.js';
import { loadScenario, readScenarioJson, ScenarioError } from '../../shared/scenario/load.js';
import type { Trace } from '../../shared/trace.js';
import { Coordinator, type RunReport } from './coordinator.js';

/** What a run on real threads is given (the library form of `vmmsim run`'s flags). */
export interface ScenarioRunOptions {
  devices?: number;
  vms?: number;
  calls?: number;
  seconds?: number;
  seed: number;
  locking?: LockingPolicy;
  hangSeconds: number;
  /** Inject one fault inside a critical section, in whichever actor takes that lock. */
  inject?: FaultKind;
  /** The fault fires at the n-th lock acquisition of the run phase, machine-wide. */
  injectAt?: number;
  /** lockdep: an inversion throws (assert) or is recorded and reported (report). */
  lockOrder?: LockOrderMode;
  /** Keep the order in which run-phase calls took effect (report.recorded). */
  record?: boolean;
  onProgress?: (calls: number, total: number) => void;
  /** Collect a Chrome trace of every service call into this. */
  trace?: Trace;
  /** Aborting ends the run phase early; the report says so. */
  signal?: AbortSignal;
}

/** Acquisitions before a fault whose --inject-at was not given: drawn from 1 to this. */
export const INJECT_AT_MAX = 2000;

/** The fault of --inject: at which lock acquisition, drawn from the seed if not given. */
export function faultOf(
  flags: Pick<ScenarioRunOptions, 'inject' | 'injectAt' | 'seed'>,
): FaultPlan | undefined {
  if (flags.inject === undefined) return undefined;
  const acquisitions =
    flags.injectAt ?? new Prng((flags.seed ^ 0xfa017) >>> 0).range(1, INJECT_AT_MAX);
  return { kind: flags.inject, acquisitions };
}

/**
 * Worker threads one run may start (a device or VM each). Each costs about 16 MB, and on a
 * 2-core machine 128 of them did not all start within the coordinator's start bound.
 */
export const RUN_THREADS_MAX = 64;

/** The folder of vmmsim's package.json, from sources or from dist/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

export const DEFAULT_SCENARIO = 'scenarios/default.json';

/** Reads a scenario path into a source; throws ScenarioError naming what is wrong. */
export function scenarioSource(
  path: string | undefined,
  flags: { devices?: number; vms?: number },
): ScenarioSource {
  const file = path === undefined ? join(packageRoot(), DEFAULT_SCENARIO) : resolve(path);
  if (!existsSync(file)) throw new ScenarioError(`scenario ${path}: no such file`);
  const counts = {
    ...(flags.devices === undefined ? {} : { devices: flags.devices }),
    ...(flags.vms === undefined ? {} : { vms: flags.vms }),
  };
  const ext = extname(file);
  if (ext === '.json') return { kind: 'json', path: file, json: readScenarioJson(file), ...counts };
  if (['.ts', '.js', '.mjs', '.mts'].includes(ext))
    return { kind: 'module', path: file, ...counts };
  throw new ScenarioError(`${file}: a scenario is a .json file or a .ts/.js module`);
}

/**
 * Runs a scenario file or module on real threads and returns the report (the library form
 * of `vmmsim run`). Throws ScenarioError or OptionError, naming the problem, before any
 * worker starts.
 */
export async function runScenario(
  path: string | undefined,
  o: ScenarioRunOptions,
): Promise<RunReport> {
  const source = scenarioSource(path, o);
  // The loader checks the machine's options and size and the device and VM counts.
  const scenario = await loadScenario(source, o.signal);
  const actors = scenario.devices.length + scenario.vms.length;
  if (actors > RUN_THREADS_MAX) {
    throw new OptionError(
      `too many devices and VMs for real threads (${actors}): a run starts one worker ` +
        `thread per device and VM, at most ${RUN_THREADS_MAX} (hunt runs more, on one thread)`,
    );
  }
  const locking = o.locking === undefined ? {} : { locking: o.locking };
  const lockOrder = o.lockOrder === undefined ? {} : { lockOrder: o.lockOrder };
  const machine = resolveOptions({ ...scenario.machine, ...locking, ...lockOrder });
  const fault = faultOf(o);
  const coordinator = new Coordinator({
    source,
    scenario,
    seed: o.seed,
    machine,
    calls: o.calls ?? scenario.budget?.calls ?? 100_000,
    seconds: o.seconds ?? scenario.budget?.seconds ?? 60,
    interruptEveryMs: scenario.interrupts?.everyMs ?? 2,
    hangMs: o.hangSeconds * 1000,
    ...(o.onProgress === undefined ? {} : { onProgress: o.onProgress }),
    ...(o.trace === undefined ? {} : { trace: o.trace }),
    ...(o.record === true ? { record: true } : {}),
    ...(o.signal === undefined ? {} : { signal: o.signal }),
    ...(fault === undefined ? {} : { fault }),
  });
  return coordinator.run();
}
