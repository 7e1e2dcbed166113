// The benchmark's measured paths, checked for correctness, never timed: the message-passing
// baseline (an owner thread serving every _XchgFreePhysReg call of its clients over
// postMessage and over comlink) and the chain workload the scaling benchmark times.
import { describe, expect, it } from 'vitest';
import { startBaseline } from '../../bench/baseline.js';
import { Threads } from '../../bench/threads.js';
import { H } from '../../src/shared/layout.js';
import { bootChainMachine, runChains } from '../../src/workers/chain_workload.js';

describe('benchmark baseline: every service call a request to the owner thread', () => {
  it.each(['postMessage', 'comlink'] as const)(
    '%s: two clients chain 200 calls each; the owner served exactly those, none refused, the machine is sound',
    async (transport) => {
      const threads = new Threads(`baseline test (${transport})`);
      try {
        const { owner, clients } = await startBaseline({ transport, workers: 2 }, threads);
        const results = await threads.guard(
          Promise.all(clients.map((c) => c.api.chains({ ...c.plan, callsMax: 200 }, 60_000))),
        );
        const report = await threads.guard(owner.report());
        expect(report.violations).toEqual([]);
        expect(report.refusals).toEqual([]);
        for (const r of results) {
          expect(r.refusals).toBe(0);
          expect(r.calls).toBeGreaterThanOrEqual(200);
          expect(r.chains).toBeGreaterThan(0);
          expect(report.served[r.name]).toBe(r.calls);
        }
      } finally {
        await threads.stop();
      }
    },
  );
});

describe('benchmark chains (the scaling workload), in-process', () => {
  it.each([
    ['own windows', 3, false],
    ['one shared window', 1, true],
  ] as const)(
    '%s: 5,000-call chain runs of three devices succeed, count what they made and lose no frame',
    (_, windowCount, shared) => {
      const { kernel, windows } = bootChainMachine({
        windowCount,
        windowPageCount: 64,
        locking: 'fine',
      });
      expect(new Set(windows.map((w) => w.lockId)).size).toBe(windows.length);
      for (let i = 0; i < 3; i++) {
        const w = windows[shared ? 0 : i]!;
        const dev = kernel.device(`DEV${i}`);
        const plan = {
          name: dev.name,
          windowFirstPage: w.firstPage,
          windowPageCount: w.pageCount,
          seed: i + 1,
          callsMax: 5_000,
        };
        const result = runChains(dev, plan);
        expect(result.refusals).toBe(0);
        expect(result.calls).toBeGreaterThanOrEqual(5_000);
        expect(result.calls).toBe(dev.callTotal);
        expect(kernel.check({ final: true })).toEqual([]);
      }
      expect(Atomics.load(kernel.layout.header, H.stop)).toBe(0);
    },
  );
});
