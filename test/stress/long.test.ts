// The opt-in long suite (npm run test:stress): the concurrency hammer at 10× the default
// suite's size, with more workers than cores, under both locking policies, on separate
// regions and on one shared region. The checker must be clean after each.
import { describe, expect, it } from 'vitest';
import { runStressWorkers } from '../../src/main/runtime/stress_run.js';

describe.each(['fine', 'global'] as const)('stress, %s locking', (locking) => {
  it.each([
    ['separate regions', false],
    ['one shared region', true],
  ] as const)('%s: 4 workers × 250,000 calls, nothing lost or doubled', async (_title, shared) => {
    const report = await runStressWorkers({
      workers: 4,
      callsPerWorker: 250_000,
      locking,
      seed: 77,
      sharedRegion: shared,
      regionPages: 64,
      ramPages: 4096,
    });
    expect(report.errors).toEqual([]);
    expect(report.violations).toEqual([]);
    expect(report.calls).toBeGreaterThanOrEqual(1_000_000);
  });
});
