// The soak, small: a handful of runs of the default scenario (cut to 2 devices and 2 VMs),
// each with one fault at a random lock acquisition, every kind of fault in turn. Every run
// must end, and end the way its fault explains. The 500-run and 10-minute versions are in
// the opt-in suite (test/stress/soak.test.ts).
import { describe, expect, it } from 'vitest';
import { FaultKinds } from '../../src/shared/protocol.js';
import { explained, formatSoak, soak } from '../../src/main/runtime/soak.js';
import type { RunReport } from '../../src/main/runtime/coordinator.js';

describe('soak with faults', () => {
  it('five runs, one of each fault: all classified, none unexplained', async () => {
    const summary = await soak({
      minutes: 5,
      runs: FaultKinds.length,
      faults: FaultKinds,
      faultEvery: 1,
      injectAtMax: 200,
      devices: 2,
      vms: 2,
      calls: 20_000,
      hangSeconds: 1,
      seed: 11,
    });
    expect(summary.runs).toBe(FaultKinds.length);
    expect(summary.unexplained).toEqual([]);
    expect(summary.faultsFired).toBe(FaultKinds.length);
    for (const kind of FaultKinds)
      expect(summary.byKind[kind]).toEqual({ fired: 1, classified: 1 });
    expect(summary.violationsWithoutFault).toBe(0);
    expect(formatSoak(summary)).toMatch(/unexplained outcomes: 0/);
  });

  it('explained() refuses a failure its fault does not explain', () => {
    const base = { violations: [], failure: undefined } as unknown as RunReport;
    expect(explained(base)).toBe(true);
    const fault = { kind: 'exit', acquisitions: 5, actor: 'A', fired: true } as const;
    const wrongActor = {
      ...base,
      fault,
      failure: {
        actor: 'B',
        kind: 'exited',
        message: '',
        phase: 'run',
        lastService: '',
        stack: '',
      },
      ownerDead: { locks: [{}], consistent: true, detectedMs: 1 },
    } as unknown as RunReport;
    expect(explained(wrongActor)).toBe(false);
    expect(explained({ ...wrongActor, failure: { ...wrongActor.failure!, actor: 'A' } })).toBe(
      true,
    );
    const notFired = { ...base, fault: { ...fault, fired: false }, violations: [{}] };
    expect(explained(notFired as unknown as RunReport)).toBe(false);
  });
});
