/**
 * The services fuzz as a vitest suite, sized by its caller: the small default one
 * (test/fuzz/services_fuzz.test.ts) and the long opt-in one (test/stress/). Each seed is one
 * machine's life under fast-check; afterwards the tally must show every service and every
 * Int 31h function called, refused and succeeding, in every phase and at interrupt time.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { serviceTable } from '../../../src/shared/services/index.js';
import { ROLES } from './args.js';
import { DDK_FAILURE, sameResult, Tally } from './oracle.js';
import { PHASE_NAMES, programArb, World } from './world.js';

export interface SuiteSize {
  runs: number;
  calls: number;
  seed: number;
  checkEvery: number;
  /** Calls each service must have had over all runs, at least. */
  callsMin: number;
  /** Shrink a failing program (slow: every try replays the machine; use a small CALLS). */
  shrink: boolean;
}

/** Reads VMMSIM_SERVICES_FUZZ_* over the defaults. */
export function sizeFromEnv(defaults: SuiteSize): SuiteSize {
  const env = (name: string, fallback: number): number =>
    Number(process.env[`VMMSIM_SERVICES_FUZZ_${name}`] ?? fallback);
  return {
    runs: env('RUNS', defaults.runs),
    calls: env('CALLS', defaults.calls),
    seed: env('SEED', defaults.seed),
    checkEvery: env('CHECK_EVERY', defaults.checkEvery),
    callsMin: defaults.callsMin,
    shrink: process.env.VMMSIM_SERVICES_FUZZ_SHRINK === '1' || defaults.shrink,
  };
}

/** Services whose success paths every suite must reach, besides refusing them. */
const SUCCESS_REQUIRED = serviceTable.map((def) => def.name);
const INT31_KEYS = ['0800h', '0801h', '0501h', '0502h', '0600h', '0601h'].map(
  (fn) => `Int 31h ${fn}`,
);

/** A shrunk failure's path (printed with it): replays that one program. */
const replayPath = process.env.VMMSIM_SERVICES_FUZZ_PATH;

function runSeed(size: SuiteSize, seed: number, tally: Tally): void {
  const locking = seed % 2 === 0 ? 'fine' : 'global';
  const rerun = `VMMSIM_SERVICES_FUZZ_SEED=${seed} VMMSIM_SERVICES_FUZZ_RUNS=1`;
  fc.assert(
    fc.property(programArb(size.calls), (program) => {
      new World({ locking, checkEvery: size.checkEvery }, tally).run(program);
    }),
    {
      seed,
      numRuns: 1,
      endOnFailure: !size.shrink,
      ...(replayPath === undefined ? {} : { path: replayPath }),
      reporter: (details) => {
        if (!details.failed) return;
        const error = details.errorInstance;
        const message = error instanceof Error ? error.message : String(error);
        const path = details.counterexamplePath ?? '';
        const shrunk = size.shrink
          ? `, shrunk ${details.numShrinks} times: VMMSIM_SERVICES_FUZZ_PATH=${path}`
          : '';
        throw new Error(
          `services fuzz seed ${seed} (${locking} locking${shrunk}; rerun: ${rerun} ` +
            `VMMSIM_SERVICES_FUZZ_CALLS=${size.calls}): ${message}`,
        );
      },
    },
  );
}

function expectCoverage(tally: Tally, size: SuiteSize): void {
  const missing: string[] = [];
  for (const name of [...serviceTable.map((def) => def.name), ...INT31_KEYS, 'Int 31h (other)']) {
    const entry = tally.services.get(name);
    const neverRefused = name === 'Get_VMM_Reenter_Count'; // asynchronous, and it cannot fail
    if (entry === undefined || entry.calls < size.callsMin) missing.push(`${name}: calls`);
    else if (entry.refusals === 0 && !neverRefused) missing.push(`${name}: no refusal`);
    else if (entry.atInterrupt === 0) missing.push(`${name}: never at interrupt time`);
  }
  for (const name of [...SUCCESS_REQUIRED, ...INT31_KEYS])
    if ((tally.services.get(name)?.successes ?? 0) === 0) missing.push(`${name}: no success`);
  for (const phase of PHASE_NAMES)
    if ((tally.phases.get(phase) ?? 0) === 0) missing.push(`phase ${phase}: no call`);
  for (const where of ['in Create_VM', 'in Destroy_VM', 'callback Request 0', 'callback Request 1'])
    if ((tally.phases.get(where) ?? 0) === 0) missing.push(`${where}: no call`);
  expect(missing, `the fuzz did not reach everything:\n${tally.format()}`).toEqual([]);
}

/** The suite: `size.runs` seeds, then the coverage the tally must show. */
export function servicesFuzzSuite(title: string, size: SuiteSize, timeoutMs: number): void {
  const tally = new Tally();
  describe(title, () => {
    it('fuzzes every service of the table, with the DDK failure value of each', () => {
      expect(Object.keys(ROLES).sort()).toEqual(serviceTable.map((def) => def.name).sort());
      for (const def of serviceTable)
        expect(sameResult(def.failure(), DDK_FAILURE[def.name]), def.name).toBe(true);
    });

    const seeds = Array.from({ length: size.runs }, (_, i) => size.seed + i);
    it.each(seeds)(
      'seed %i: no exception, no checker violation, every refusal the DDK failure value',
      (seed) => runSeed(size, seed, tally),
      timeoutMs,
    );

    it('reached every service and Int 31h function, refused and succeeding, in every phase', () => {
      if (process.env.VMMSIM_SERVICES_FUZZ_REPORT === '1') console.log(tally.format());
      expectCoverage(tally, size);
    });
  });
}
