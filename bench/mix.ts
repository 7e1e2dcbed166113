/**
 * Scaling (c): the default scenario's mix on real threads, cut or grown to a worker count —
 * its devices in order and its DOS VMs, half and half up to the scenario's own 4 + 4, more
 * VMs beyond — run for a fixed window through runScenario, the library form of `vmmsim
 * run`. Interrupts, callbacks and Request 1 waits are part of the mix, and so are the
 * failure values its models ask for on purpose (they exercise the DDK's failure paths); a
 * violation or a failed actor is not.
 */
import type { LockingPolicy } from '../src/shared/config.js';
import { runScenario } from '../src/main/runtime/run_scenario.js';
import type { LockFigures, ScalingPoint } from './scaling.js';

export interface MixPointOptions {
  locking: LockingPolicy;
  workers: number;
  windowMs: number;
}

/**
 * Devices and VMs for `workers` threads. The four devices are never repeated: a second
 * bus-master DMA model on the page-swap region writes the same DMA slot of a page as the
 * first, and each then reports the other's data as a moved page (a model limit, not a
 * kernel fault; `vmmsim run --devices 8` shows it).
 */
export function mixShape(workers: number): { devices: number; vms: number } {
  const devices = Math.min(Math.ceil(workers / 2), 4);
  return { devices, vms: workers - devices };
}

/** Runs the default scenario for one window; throws unless the run was sound. */
export async function runMixPoint(o: MixPointOptions): Promise<ScalingPoint> {
  const label = `scaling mix/${o.locking}/${o.workers}`;
  const shape = mixShape(o.workers);
  const report = await runScenario(undefined, {
    ...shape,
    seed: 1,
    locking: o.locking,
    calls: 1_000_000_000,
    seconds: o.windowMs / 1000,
    hangSeconds: 30,
  });
  if (report.failure !== undefined)
    throw new Error(
      `${label}: ${report.failure.actor} ${report.failure.kind}: ${report.failure.message}`,
    );
  if (report.violations.length > 0 || report.actorViolations.length > 0) {
    const first = report.violations[0]?.message ?? report.actorViolations[0]?.message;
    throw new Error(`${label}: the run was not sound: ${first}`);
  }
  if (report.systemExit || report.droppedDevices.length > 0 || report.refusedVms.length > 0)
    throw new Error(`${label}: not every device and VM ran`);
  if (report.actors.length !== o.workers)
    throw new Error(`${label}: ${report.actors.length} actors ran, not ${o.workers}`);
  const byService = Object.values(report.byService).reduce((n, c) => n + c, 0);
  if (byService !== report.calls)
    throw new Error(`${label}: ${report.calls} calls but ${byService} by service`);
  const perWorkerCalls = report.actors.map((a) => a.calls);
  if (perWorkerCalls.some((c) => c === 0)) throw new Error(`${label}: an actor made no call`);
  const locks: LockFigures = { acquisitions: 0, contended: 0, waits: 0, waitUs: 0 };
  for (const s of report.locks) {
    locks.acquisitions += s.epoch;
    locks.contended += s.contended;
    locks.waits += s.waits;
    locks.waitUs += s.waitUsTotal;
  }
  return {
    mode: 'mix',
    locking: o.locking,
    workers: o.workers,
    calls: report.calls,
    windowMs: report.runMs,
    opsPerSecond: report.opsPerSecond,
    perWorkerCalls,
    fairness: Math.min(...perWorkerCalls) / Math.max(...perWorkerCalls),
    locks,
  };
}
