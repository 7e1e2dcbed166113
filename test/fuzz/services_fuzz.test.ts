/**
 * Every service and every Int 31h function with arbitrary arguments, in every phase, at task
 * time and at interrupt time, from three devices and two or three VMs: no exception, no checker
 * violation, every refusal the DDK's failure value (test/fuzz/services/). The small default
 * size; test/stress/services_fuzz.test.ts is the long one. VMMSIM_SERVICES_FUZZ_RUNS, _CALLS,
 * _SEED, _CHECK_EVERY, _SHRINK=1 (with a small _CALLS; prints a _PATH that replays the shrunk
 * program) and _REPORT=1 (print the tally) change it.
 */
import { servicesFuzzSuite, sizeFromEnv } from './services/suite.js';

servicesFuzzSuite(
  'every service with arbitrary arguments (default size)',
  sizeFromEnv({ runs: 8, calls: 3000, seed: 0x5e41, checkEvery: 8, callsMin: 20, shrink: false }),
  60_000,
);
