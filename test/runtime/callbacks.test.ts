// Free-physical-region callbacks across workers: each runs in the worker of the device that
// registered it; Request 0 when pages reach the free list, Request 1 when an allocation is
// short; carry stops the chain; the order rotates; none before every device processed
// Init_Complete.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runScenario } from '../../src/index.js';

const fixture = join(import.meta.dirname, '..', 'fixtures', 'callbacks.ts');
afterEach(() => {
  delete process.env.VMMSIM_FIXTURE_CARRY;
  delete process.env.VMMSIM_FIXTURE_CALLBACK_THROW;
});

/** The recorded callback calls: [device, request]. */
function calls(words: number[]): [number, number][] {
  const count = Math.min(words[1]!, 254);
  return Array.from({ length: count }, (_, i) => [words[i + 2]! >> 4, words[i + 2]! & 15]);
}

describe('runtime: free-physical-region callbacks', () => {
  it('a callback that throws fails the run, named, instead of being swallowed', async () => {
    process.env.VMMSIM_FIXTURE_CALLBACK_THROW = '3';
    const report = await runScenario(fixture, { seed: 3, hangSeconds: 10 });
    expect(report.failure).toMatchObject({ actor: 'CB1', kind: 'threw' });
    expect(report.failure!.phase).toMatch(/^callback \(Request [01]\)$/);
    expect(report.failure!.message).toBe('CB1 callback 3 failed');
  });

  it('Request 0 and Request 1 reach both devices in their own workers, never before Init_Complete', async () => {
    const report = await runScenario(fixture, { seed: 3, hangSeconds: 10 });
    expect(report.failure).toBeUndefined();
    expect(report.actorViolations).toEqual([]);
    expect(report.violations).toEqual([]);
    const recorded = calls(report.sharedWords);
    for (const device of [0, 1]) {
      expect(recorded.some(([d, r]) => d === device && r === 0)).toBe(true);
      expect(recorded.some(([d, r]) => d === device && r === 1)).toBe(true);
    }
    expect(report.callbacks.request1).toBeGreaterThan(0);
  });

  it('without carry every callback of a chain runs, and the order rotates', async () => {
    const report = await runScenario(fixture, { seed: 3, hangSeconds: 10 });
    const recorded = calls(report.sharedWords);
    expect(report.callbacks.calls).toBe(
      2 * (report.callbacks.request0 + report.callbacks.request1),
    );
    const firsts = new Set<number>();
    for (let i = 0; i + 1 < recorded.length; i += 2) {
      expect(recorded[i]![0]).not.toBe(recorded[i + 1]![0]); // both devices in each chain
      firsts.add(recorded[i]![0]);
    }
    expect([...firsts].sort()).toEqual([0, 1]); // each device is sometimes first
  });

  it('carry set by a callback stops the chain: one callback per chain, rotating', async () => {
    process.env.VMMSIM_FIXTURE_CARRY = 'always';
    const report = await runScenario(fixture, { seed: 3, hangSeconds: 10 });
    expect(report.failure).toBeUndefined();
    expect(report.callbacks.calls).toBe(report.callbacks.request0 + report.callbacks.request1);
    const devices = new Set(calls(report.sharedWords).map(([d]) => d));
    expect([...devices].sort()).toEqual([0, 1]);
  });
});
