// Controlled mode on its own: the same seed gives the same schedule and trace hash; an
// actor that awaits something other than a service call is reported as hung, not waited
// for forever; a carry at Device_Init drops a device before the run as on real threads.
import { describe, expect, it } from 'vitest';
import { defineDevice, defineScenario, PG_SYS } from '../../src/index.js';
import { runControlled } from '../../src/main/controlled/controlled.js';
import { PctScheduler } from '../../src/main/controlled/schedulers/pct.js';
import { RandomScheduler } from '../../src/main/controlled/schedulers/random.js';

const allocator = (name: string, carryAt?: string) =>
  defineDevice({
    name,
    initOrder: 0x100,
    create: (dev) => ({
      control: (message) => message === carryAt,
      async step() {
        const { eax } = await dev._PageAllocate(1, PG_SYS, 0, 0, 0, 0, 0, 0);
        if (eax !== 0) await dev._PageFree(eax, 0);
      },
    }),
  });

const machine = { ramPages: 448, vmMax: 2, blockMax: 64, actorMax: 8, vmV86Pages: 2 };
const options = { seed: 11, stepsMax: 100, checkEvery: 10, interruptPer1024: 0 };

describe('controlled mode', () => {
  it('is deterministic: the same seed gives the same decisions and trace hash', async () => {
    const scenario = defineScenario({
      name: 'two',
      machine,
      devices: [allocator('A'), allocator('B')],
      vms: [],
    });
    const one = await runControlled(scenario, options, new RandomScheduler(11));
    const two = await runControlled(scenario, options, new RandomScheduler(11));
    const other = await runControlled(scenario, options, new RandomScheduler(12));
    expect(one.failure).toBeUndefined();
    expect(one.steps).toBeGreaterThanOrEqual(100); // 100 new steps, then each finishes its own
    expect(two.decisions).toEqual(one.decisions);
    expect(two.traceHash).toBe(one.traceHash);
    expect(other.decisions).not.toEqual(one.decisions);
    expect(new Set(one.decisions)).toEqual(new Set([0, 1]));
  });

  it('PCT with depth 1 runs the highest-priority actor until it cannot run', async () => {
    const scenario = defineScenario({
      name: 'two',
      machine,
      devices: [allocator('A'), allocator('B')],
      vms: [],
    });
    const result = await runControlled(scenario, options, new PctScheduler(11, 2, 100, 1));
    expect(new Set(result.decisions.slice(0, 100)).size).toBe(1);
  });

  it('an actor that waits on something other than a service call is hung, not waited for', async () => {
    const stuck = defineDevice({
      name: 'STUCK',
      initOrder: 0x200,
      create: (dev) => ({
        async step() {
          await dev._GetFreePageCount(0);
          await new Promise(() => undefined); // never settles, no service call
        },
      }),
    });
    const scenario = defineScenario({
      name: 'stuck',
      machine,
      devices: [allocator('A'), stuck],
      vms: [],
    });
    const started = performance.now();
    const result = await runControlled(scenario, options, new PctScheduler(3, 2, 100, 1));
    expect(result.failure).toMatchObject({ kind: 'hung', actor: 'STUCK' });
    expect(performance.now() - started).toBeLessThan(10_000);
  }, 15_000);

  it('carry at Device_Init drops the device: it never runs', async () => {
    const scenario = defineScenario({
      name: 'drop',
      machine,
      devices: [allocator('A'), allocator('B', 'Device_Init')],
      vms: [],
    });
    const result = await runControlled(scenario, options, new RandomScheduler(5));
    expect(result.failure).toBeUndefined();
    expect(new Set(result.decisions)).toEqual(new Set([0]));
  });
});
