// Kernel locks between real threads, below the runtime: two workers that take two locks in
// opposite orders (allowed through by lockOrder report) really deadlock, the wait-for graph
// read from the buffer shows the cycle while they do, lockdep has recorded the inversion, and
// the bounded waits end it; a worker that exits holding a lock is declared crashed and its
// waiter in another thread stops with OwnerDeadError instead of waiting out the bound.
import * as Comlink from 'comlink';
import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { createKernel, presets } from '../../src/index.js';
import { waitForGraph, type WaitForGraph } from '../../src/main/runtime/wait_for.js';
import { check } from '../../src/shared/checker.js';
import { LOCK_BLOCKS, LOCK_FREE_LIST, LOCK_MISC } from '../../src/shared/layout.js';
import { declareCrashed } from '../../src/shared/lock.js';
import { nodeEndpoint } from '../../src/workers/endpoint.js';
import type { LockProbeApi } from '../fixtures/lock_probe_worker.js';
import { spawnWorker } from '../../src/workers/spawn.js';

let live: Worker[] = [];
afterEach(async () => {
  await Promise.all(live.map((w) => w.terminate()));
  live = [];
});

function probe(sab: SharedArrayBuffer, name: string) {
  const worker = spawnWorker(new URL('../fixtures/lock_probe_worker.js', import.meta.url), {
    sab,
    name,
  });
  live.push(worker);
  return { worker, api: Comlink.wrap<LockProbeApi>(nodeEndpoint(worker)) };
}

/** Polls the graph until `found` holds, for at most `ms`. */
async function graphUntil(
  take: () => WaitForGraph,
  found: (g: WaitForGraph) => boolean,
  ms: number,
): Promise<WaitForGraph> {
  const until = performance.now() + ms;
  let graph = take();
  while (!found(graph) && performance.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    graph = take();
  }
  return graph;
}

describe('kernel locks between real threads', () => {
  it('an AB/BA inversion deadlocks; the graph shows the cycle; the bounds end it', async () => {
    const kernel = createKernel({ ...presets.testMin, lockOrder: 'report', lockWaitMsMax: 1500 });
    const a = probe(kernel.sab, 'PROBE_A');
    const b = probe(kernel.sab, 'PROBE_B');
    const names = new Map([
      [await a.api.actor(), 'PROBE_A'],
      [await b.api.actor(), 'PROBE_B'],
    ]);
    const outcomes = Promise.all([
      a.api.holdThenTake([LOCK_MISC], 2, LOCK_BLOCKS), // in rank order
      b.api.holdThenTake([LOCK_BLOCKS], 2, LOCK_MISC), // inverted
    ]);
    const graph = await graphUntil(
      () => waitForGraph(kernel.layout, names, 'test'),
      (g) => g.cycle !== undefined,
      1_000,
    );
    expect(graph.cycle?.slice().sort()).toEqual(['PROBE_A', 'PROBE_B']);
    const waits = Object.fromEntries(graph.nodes.map((n) => [n.actor, n.waitsFor?.lock]));
    expect(waits).toEqual({ PROBE_A: 'block table lock', PROBE_B: 'V86 data area lock' });
    const [ra, rb] = await outcomes;
    // one of them runs out its bound first and gives up; the other may then get its lock
    expect([ra.outcome, rb.outcome]).toContain('LockTimeoutError');
    const order = kernel.check().filter((v) => v.kind === 'lock-order');
    expect(order.map((v) => v.message)).toEqual([
      expect.stringMatching(/V86 data area lock .* taken while holding block table lock/),
    ]);
  });

  it('a thread that exits holding a lock: its waiter gets OwnerDeadError, not the bound', async () => {
    const kernel = createKernel({ ...presets.testMin, lockWaitMsMax: 10_000 });
    const dying = probe(kernel.sab, 'DYING');
    const waiter = probe(kernel.sab, 'WAITER');
    const dyingActor = await dying.api.actor();
    await waiter.api.actor();
    const exited = once(dying.worker, 'exit');
    void dying.api.holdThenExit([LOCK_FREE_LIST], 2).catch(() => undefined);
    const outcome = waiter.api.holdThenTake([], 2, LOCK_FREE_LIST);
    const [code] = await exited;
    expect(code).toBe(3);
    expect(declareCrashed(kernel.layout, dyingActor)).toEqual([LOCK_FREE_LIST]);
    const result = await outcome;
    expect(result.outcome).toBe('OwnerDeadError');
    expect(result.message).toMatch(/free list lock is owner-dead/);
    expect(result.waitedMs).toBeLessThan(10_000); // ended by the mark, not by the bound
    expect(check(kernel.layout, { locksOnly: true }).map((v) => v.kind)).toEqual(['owner-dead']);
  });
});
