/**
 * The baseline: the message-passing design, where one owner thread holds the machine and
 * every service call is a request to it (raw postMessage, or comlink). Client workers run
 * the same _XchgFreePhysReg chains over the same windows as scaling (a), so their calls per
 * second compare directly with vmmsim's at the same worker count. It measures the design,
 * not the services: the owner runs vmmsim's own service code for every request.
 */
import * as Comlink from 'comlink';
import { MessageChannel } from 'node:worker_threads';
import type { BaselineClientApi } from './workers/baseline_client.js';
import type { ChainPlan, ChainResult } from '../src/workers/chain_workload.js';
import type { BaselineTransport, OwnerWorkerApi } from './workers/owner_worker.js';
import { WINDOW_PAGES } from './scaling.js';
import { Threads } from './threads.js';
import { srcUrl } from '../src/shared/module_url.js';

export interface BaselinePoint {
  transport: BaselineTransport;
  workers: number;
  calls: number;
  windowMs: number;
  opsPerSecond: number;
  perWorkerCalls: number[];
  fairness: number;
  /** Mean time a client waited for one answer. */
  roundTripUs: number;
}

export interface BaselinePointOptions {
  transport: BaselineTransport;
  workers: number;
  warmupMs: number;
  windowMs: number;
}

export interface BaselineClient {
  api: Comlink.Remote<BaselineClientApi>;
  plan: ChainPlan;
}

/**
 * Starts the owner (its machine booted with one window per client) and `workers` clients,
 * each connected to the owner by a MessageChannel of its own.
 */
export async function startBaseline(
  o: Pick<BaselinePointOptions, 'transport' | 'workers'>,
  threads: Threads,
): Promise<{
  owner: Comlink.Remote<OwnerWorkerApi>;
  clients: BaselineClient[];
}> {
  const owner = threads.spawn<OwnerWorkerApi>(srcUrl('../bench/workers/owner_worker.js'), {});
  const windows = await threads.guard(
    owner.boot({
      windowCount: o.workers,
      windowPageCount: WINDOW_PAGES,
      locking: 'fine',
    }),
  );
  const clients: BaselineClient[] = [];
  for (let i = 0; i < o.workers; i++) {
    const api = threads.spawn<BaselineClientApi>(srcUrl('../bench/workers/baseline_client.js'), {});
    const { port1, port2 } = new MessageChannel();
    const name = `DEV${i}`;
    await threads.guard(owner.attach(Comlink.transfer(port1, [port1]), name, o.transport));
    await threads.guard(api.connect(Comlink.transfer(port2, [port2]), o.transport));
    const w = windows[i]!;
    const plan = {
      name,
      windowFirstPage: w.firstPage,
      windowPageCount: w.pageCount,
      seed: i + 1,
      callsMax: 0,
    };
    clients.push({ api, plan });
  }
  return { owner, clients };
}

async function window(
  threads: Threads,
  clients: BaselineClient[],
  ms: number,
): Promise<{ results: ChainResult[]; elapsedMs: number }> {
  const begin = performance.now();
  const results = await threads.guard(Promise.all(clients.map((c) => c.api.chains(c.plan, ms))));
  return { results, elapsedMs: performance.now() - begin };
}

/** Measures one (transport, worker count) point; throws unless every call succeeded. */
export async function runBaselinePoint(o: BaselinePointOptions): Promise<BaselinePoint> {
  const label = `baseline ${o.transport}/${o.workers}`;
  const threads = new Threads(label);
  try {
    const { owner, clients } = await startBaseline(o, threads);
    const warm = await window(threads, clients, o.warmupMs);
    const { results, elapsedMs } = await window(threads, clients, o.windowMs);
    const report = await threads.guard(owner.report());
    if (report.violations.length > 0) throw new Error(`${label}: checker: ${report.violations[0]}`);
    if (report.refusals.length > 0) throw new Error(`${label}: refused: ${report.refusals[0]}`);
    results.forEach((r, i) => {
      const asked = r.calls + warm.results[i]!.calls;
      if (r.refusals > 0 || r.calls === 0) throw new Error(`${label}: ${r.name} failed`);
      if (report.served[r.name] !== asked)
        throw new Error(
          `${label}: ${r.name} asked ${asked} calls, the owner served ${report.served[r.name]}`,
        );
    });
    const perWorkerCalls = results.map((r) => r.calls);
    const calls = perWorkerCalls.reduce((n, c) => n + c, 0);
    const clientMs = results.reduce((n, r) => n + r.elapsedMs, 0);
    return {
      transport: o.transport,
      workers: o.workers,
      calls,
      windowMs: elapsedMs,
      opsPerSecond: calls / (elapsedMs / 1000),
      perWorkerCalls,
      fairness: Math.min(...perWorkerCalls) / Math.max(...perWorkerCalls),
      roundTripUs: (clientMs * 1000) / calls,
    };
  } finally {
    await threads.stop();
  }
}

export interface BaselineOptions {
  workerCounts: number[];
  transports: BaselineTransport[];
  warmupMs: number;
  windowMs: number;
  onPoint?: (point: BaselinePoint) => void;
}

/** Every baseline point, transport by transport. */
export async function runBaseline(o: BaselineOptions): Promise<BaselinePoint[]> {
  const points: BaselinePoint[] = [];
  for (const transport of o.transports) {
    for (const workers of o.workerCounts) {
      const { warmupMs, windowMs } = o;
      const point = await runBaselinePoint({ transport, workers, warmupMs, windowMs });
      points.push(point);
      o.onPoint?.(point);
    }
  }
  return points;
}
