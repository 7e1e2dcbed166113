// The benchmark's verdicts: each target of the performance issue judged from the values one
// run measured (fabricated here: the suite never times anything). PASS and MISS must follow
// the goal on each side of it.
import { describe, expect, it } from 'vitest';
import type { MainJob } from '../../bench/main_job.js';
import type { RaceRates } from '../../bench/race_rates.js';
import { type BenchResults, targets } from '../../bench/report.js';
import type { ScalingPoint } from '../../bench/scaling.js';

const job = (startupMs: number[], callsPerSecond: number): MainJob => ({
  startupMs,
  startupMedianMs: [...startupMs].sort((a, b) => a - b)[Math.floor(startupMs.length / 2)]!,
  scenario: { calls: 200_000, runMs: 200_000_000 / callsPerSecond, callsPerSecond },
});

const races = (perSecond: number, ratio: number): RaceRates => ({
  single: { runs: 1000, perSecond, steps: 206 },
  hunt: { runs: 8000, one: 1000, two: 1000 * ratio, ratio },
});

const verdict = (r: BenchResults, name: string): boolean | undefined =>
  targets(r).find((t) => t.name.startsWith(name))?.met;

describe('the benchmark targets', () => {
  it('start-up: the median of the runs against 500 ms', () => {
    expect(verdict({ job: job([430, 700, 480], 90_000) }, 'vmmsim run --calls 1')).toBe(true);
    expect(verdict({ job: job([430, 700, 520], 90_000) }, 'vmmsim run --calls 1')).toBe(false);
  });

  it('the default scenario: 500 k calls/s (2 µs of wall a call)', () => {
    expect(verdict({ job: job([400], 499_000) }, 'the default scenario')).toBe(false);
    expect(verdict({ job: job([400], 500_000) }, 'the default scenario')).toBe(true);
    const shown = targets({ job: job([400], 100_000) }).find((t) =>
      t.name.startsWith('the default scenario'),
    )!.shown;
    expect(shown).toContain('10.0 µs of wall a call');
  });

  it('controlled runs per second and hunt scaling', () => {
    expect(verdict({ races: races(5_000, 1.8) }, 'controlled runs/s')).toBe(true);
    expect(verdict({ races: races(4_999, 1.8) }, 'controlled runs/s')).toBe(false);
    expect(verdict({ races: races(5_000, 1.8) }, 'hunt, 2 pool threads')).toBe(true);
    expect(verdict({ races: races(5_000, 1.79) }, 'hunt, 2 pool threads')).toBe(false);
  });

  it('the default mix, 2 workers / 1, for each policy', () => {
    const point = (locking: string, workers: number, opsPerSecond: number) =>
      ({ mode: 'mix', locking, workers, opsPerSecond, fairness: 1 }) as unknown as ScalingPoint;
    const scaling = [
      point('fine', 1, 100),
      point('fine', 2, 175),
      point('global', 1, 100),
      point('global', 2, 85),
    ];
    expect(verdict({ scaling }, 'default mix, 2 workers / 1 (fine)')).toBe(true);
    expect(verdict({ scaling }, 'default mix, 2 workers / 1 (global)')).toBe(false);
  });

  it('one shared region: 2 workers / 1 must hold in every repeat, not only the median', () => {
    const point = (workers: number, repeats: number[]) =>
      ({
        mode: 'shared',
        locking: 'fine',
        workers,
        opsPerSecond: [...repeats].sort((a, b) => a - b)[Math.floor(repeats.length / 2)]!,
        repeats,
        fairness: 1,
      }) as unknown as ScalingPoint;
    const name = 'one shared region 2/1, each repeat (fine)';
    const oneLow = [point(1, [100, 100, 100]), point(2, [90, 60, 95])];
    expect(verdict({ scaling: oneLow }, name)).toBe(false);
    expect(targets({ scaling: oneLow }).find((t) => t.name === name)!.shown).toBe(
      '0.90, 0.60, 0.95 (lowest 0.60×)',
    );
    expect(verdict({ scaling: [point(1, [100, 120]), point(2, [75, 90])] }, name)).toBe(true);
  });

  it('names no target a run did not measure', () => {
    expect(targets({})).toEqual([]);
  });
});
