// --trace: Chrome trace event JSON that Perfetto opens — a track per device and VM, a slice
// per service call with its arguments and result, interrupts, callbacks, violations as
// instant events, and a counter of free pages; from a replay and from a run on real threads.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runControlled } from '../../src/main/controlled/controlled.js';
import { PctScheduler } from '../../src/main/controlled/schedulers/pct.js';
import { runScenario } from '../../src/index.js';
import { Trace, type TraceEvent } from '../../src/shared/trace.js';
import { loadScenario } from '../../src/shared/scenario/load.js';

const root = join(import.meta.dirname, '..', '..');
const of = (events: TraceEvent[], ph: TraceEvent['ph']) => events.filter((e) => e.ph === ph);

describe('--trace', () => {
  it('a controlled run: tracks, service slices with arguments and result, the violation, free pages', async () => {
    const scenario = await loadScenario({
      kind: 'module',
      path: join(root, 'scenarios/races/dropped-frame.ts'),
    });
    const trace = new Trace();
    const options = { seed: 31, stepsMax: 200, checkEvery: 0, interruptPer1024: 0, trace };
    const result = await runControlled(scenario, options, new PctScheduler(31, 2, 200, 3));
    expect(result.failure?.message).toMatch(/lost-frame/);
    // Every track named, the machine's (tid 0: the counters, the failure) included.
    const names = of(trace.events, 'M').map((e) => [e.name, e.tid, e.args!['name']]);
    expect(names).toEqual([
      ['process_name', 0, 'vmmsim'],
      ['thread_name', 0, 'machine'],
      ['thread_name', 1, 'SWAPPER'],
      ['thread_name', 2, 'FILLER'],
    ]);
    // Each decision is marked on the track of the actor that moves; a preemption says so.
    const marks = of(trace.events, 'i').filter((e) => /^(preemption: )?step \d+$/.test(e.name));
    expect(marks).toHaveLength(result.decisions.length);
    const preemption = marks.find((e) => e.name.startsWith('preemption'))!;
    expect(preemption.args).toMatchObject({ preempted: expect.any(String) });
    // A refused call carries its reason.
    const refused = of(trace.events, 'X').find((e) => e.args?.['refused'] !== undefined);
    expect(refused?.args?.['refused']).toEqual(expect.stringMatching(/\w/));
    const xchg = of(trace.events, 'X').find((e) => e.name === '_XchgFreePhysReg')!;
    expect(xchg.args).toMatchObject({ args: expect.any(Array), result: expect.anything() });
    expect(of(trace.events, 'i').some((e) => /lost-frame/.test(e.name) && e.s === 'g')).toBe(true);
    expect(of(trace.events, 'C').every((e) => typeof e.args!['free pages'] === 'number')).toBe(
      true,
    );
    expect(() => JSON.stringify({ traceEvents: trace.events })).not.toThrow();
  });

  it('a run on real threads: every actor on its own track, its calls in wall-clock order', async () => {
    const trace = new Trace();
    const report = await runScenario(undefined, { seed: 2, hangSeconds: 10, calls: 4000, trace });
    expect(report.failure).toBeUndefined();
    const tracks = of(trace.events, 'M').map((e) => e.args!['name']);
    expect(tracks).toEqual(
      expect.arrayContaining([
        'vmmsim',
        'machine',
        'PAGESWAP',
        'VCACHE',
        'BUSMSTR',
        'V86DATA',
        'VM1',
      ]),
    );
    const slices = of(trace.events, 'X').filter((e) => e.cat === 'service');
    expect(slices.length).toBeGreaterThanOrEqual(report.calls * 0.9);
    expect(of(trace.events, 'X').some((e) => e.name === 'interrupt')).toBe(true);
    expect(of(trace.events, 'X').some((e) => e.name.startsWith('callback Request'))).toBe(true);
    const counters = new Set(of(trace.events, 'C').map((e) => e.name));
    expect(counters).toEqual(
      new Set(['free pages', 'lock waits (futex)', 'contended acquisitions']),
    );
  });
});
