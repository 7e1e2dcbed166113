/**
 * The long services fuzz (npm run test:stress): the machine of test/fuzz/services_fuzz.test.ts,
 * many more seeds and longer lives — every service and every Int 31h function with arbitrary
 * arguments, in every phase, at task and interrupt time, from three devices and the VMs.
 * VMMSIM_SERVICES_FUZZ_RUNS, _CALLS, _SEED, _CHECK_EVERY and _REPORT=1 change it.
 */
import { servicesFuzzSuite, sizeFromEnv } from '../fuzz/services/suite.js';

servicesFuzzSuite(
  'every service with arbitrary arguments (long)',
  sizeFromEnv({
    runs: 60,
    calls: 10000,
    seed: 0x10000,
    checkEvery: 8,
    callsMin: 500,
    shrink: false,
  }),
  300_000,
);
