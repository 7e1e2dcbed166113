// The soak, large (opt-in: npm run test:stress). Runs from dist/, the path `vmmsim soak`
// takes. 500 runs each with a fault at a random point (VMMSIM_FAULT_RUNS), then the default
// scenario for VMMSIM_SOAK_MINUTES (10) with a fault in every other run. Prints the summary.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';

setFlagsFromString('--expose-gc');
/** V8's collector: memory is sampled after a collection, so growth means something is kept. */
const collect = runInNewContext('gc') as () => void;

const FAULT_RUNS = Number(process.env.VMMSIM_FAULT_RUNS ?? 500);
const SOAK_MINUTES = Number(process.env.VMMSIM_SOAK_MINUTES ?? 10);

async function load() {
  const soak = await import('../../dist/src/main/runtime/soak.js');
  const protocol = await import('../../dist/src/shared/protocol.js');
  return { ...soak, FaultKinds: protocol.FaultKinds };
}

describe('soak (opt-in)', () => {
  it(`${FAULT_RUNS} runs, each with a fault at a random lock acquisition: 0 hangs, all classified`, async () => {
    const { soak, formatSoak, FaultKinds } = await load();
    const summary = await soak({
      minutes: 60,
      runs: FAULT_RUNS,
      faults: FaultKinds,
      faultEvery: 1,
      injectAtMax: 2000,
      devices: 2,
      vms: 2,
      calls: 20_000,
      hangSeconds: 1,
      seed: 1000,
      collect,
    });
    console.log(formatSoak(summary));
    expect(summary.runs).toBe(FAULT_RUNS);
    expect(summary.unexplained).toEqual([]);
    expect(summary.violationsWithoutFault).toBe(0);
    expect(summary.faultsFired + summary.faultsNotFired).toBe(FAULT_RUNS);
  }, 3_600_000);

  it(`the default scenario for ${SOAK_MINUTES} minutes, a fault every other run`, async () => {
    const { soak, formatSoak, FaultKinds } = await load();
    const summary = await soak({
      minutes: SOAK_MINUTES,
      runs: 0,
      faults: FaultKinds,
      faultEvery: 2,
      injectAtMax: 2000,
      calls: 50_000,
      hangSeconds: 1,
      seed: 1,
      collect,
    });
    console.log(formatSoak(summary));
    expect(summary.unexplained).toEqual([]);
    expect(summary.violationsWithoutFault).toBe(0);
    expect(summary.sound).toBeGreaterThan(0);
    // each run's workers are gone when it ends: the heap does not keep what they left
    expect(summary.memory.collected).toBe(true);
    expect(summary.memory.heapEndMB - summary.memory.heapStartMB).toBeLessThan(64);
  }, 3_600_000);
});
