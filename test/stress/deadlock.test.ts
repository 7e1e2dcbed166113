// Deadlock, large (opt-in: npm run test:stress): rings of real worker threads, each holding
// one VM space lock and taking the next one's (the last one inverts the ranks, let through by
// lockOrder report). The wait-for graph read from the buffer must show the whole ring as one
// cycle, lockdep must have recorded the one inversion, and the bounded waits must end it.
import * as Comlink from 'comlink';
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { createKernel, presets } from '../../src/index.js';
import { waitForGraph } from '../../src/main/runtime/wait_for.js';
import { LOCK_VM_FIRST } from '../../src/shared/layout.js';
import { nodeEndpoint } from '../../src/workers/endpoint.js';
import type { LockProbeApi } from '../fixtures/lock_probe_worker.js';
import { spawnWorker } from '../../src/workers/spawn.js';

const ROUNDS = Number(process.env.VMMSIM_DEADLOCK_ROUNDS ?? 20);
let live: Worker[] = [];
afterEach(async () => {
  await Promise.all(live.map((w) => w.terminate()));
  live = [];
});

async function ring(size: number): Promise<void> {
  const kernel = createKernel({ ...presets.standard, lockOrder: 'report', lockWaitMsMax: 3000 });
  const probes = Array.from({ length: size }, (_, k) => {
    const worker = spawnWorker(new URL('../fixtures/lock_probe_worker.js', import.meta.url), {
      sab: kernel.sab,
      name: `P${k}`,
    });
    live.push(worker);
    return Comlink.wrap<LockProbeApi>(nodeEndpoint(worker));
  });
  const names = new Map<number, string>();
  for (const [k, api] of probes.entries()) names.set(await api.actor(), `P${k}`);
  const lock = (k: number): number => LOCK_VM_FIRST + 1 + (k % size);
  const outcomes = Promise.all(
    probes.map((api, k) => api.holdThenTake([lock(k)], size, lock(k + 1))),
  );
  let cycle: string[] | undefined;
  const until = performance.now() + 2_500;
  while (cycle === undefined && performance.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    cycle = waitForGraph(kernel.layout, names, 'test').cycle;
  }
  expect(cycle?.slice().sort()).toEqual([...names.values()].sort());
  const results = await outcomes;
  expect(results.map((r) => r.outcome)).toContain('LockTimeoutError');
  expect(kernel.check().filter((v) => v.kind === 'lock-order')).toHaveLength(1);
  await Promise.all(live.map((w) => w.terminate()));
  live = [];
}

describe('deadlock rings (opt-in)', () => {
  it(`${ROUNDS} rings of 2 to 8 threads: each seen as one cycle, each ended by the bounds`, async () => {
    for (let round = 0; round < ROUNDS; round++) await ring(2 + (round % 7));
  }, 600_000);
});
