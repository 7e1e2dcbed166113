/**
 * What the coordinator says about a run that went wrong: a deadlock seen in the wait-for
 * graph, a hang and whom to blame for it, an actor that died (declared crashed, its locks
 * owner-dead, how long after its fault that was seen), and the report's reliability part.
 * It reads the buffer and the actor handles; it does not stop workers or wait for them: the
 * coordinator does.
 */
import type { Violation } from '../../shared/checker.js';
import { actorRead } from '../../shared/actor_record.js';
import type { Layout } from '../../shared/layout.js';
import { declareCrashed, lockName } from '../../shared/lock.js';
import {
  type ActorFailure,
  faultAgeMs,
  faultFiredAt,
  type FaultPlan,
} from '../../shared/protocol.js';
import type { RunReport } from './report.js';
import { cycleEpochs, hexPage, rootHolder, waitForGraph, type WaitForGraph } from './wait_for.js';
import type { ActorFailureError, ActorHandle } from './worker_host.js';
import { AC } from '../../shared/layout.js';

export class Diagnosis {
  private waitFor: WaitForGraph | undefined;
  private ownerDead: RunReport['ownerDead'];
  private failedAt = 0;

  constructor(
    private readonly layout: Layout,
    /** Every actor handle, devices first. */
    private readonly actors: () => ActorHandle[],
    private readonly hangMs: number,
    private readonly fault: FaultPlan | undefined,
  ) {}

  private names(): Map<number, string> {
    return new Map(this.actors().map((a) => [a.actor, a.name]));
  }

  private graph(reason: string): WaitForGraph {
    return waitForGraph(this.layout, this.names(), reason);
  }

  /** The cycle of lock waits now, with its locks' epochs; undefined when there is none. */
  deadlockKey(): string | undefined {
    return cycleEpochs(this.layout, this.graph('deadlock'));
  }

  deadlockFailure(): ActorFailureError {
    const graph = this.graph('deadlock');
    this.waitFor = graph;
    const first = graph.nodes.find((n) => n.actor === graph.cycle?.[0]);
    const handle = this.actors().find((a) => a.actor === first?.actorId);
    const message = `deadlock: ${graph.nodes
      .filter((n) => graph.cycle?.includes(n.actor) && n.waitsFor !== undefined)
      .map((n) => `${n.actor} waits for ${n.waitsFor!.lock} held by ${n.waitsFor!.holder}`)
      .join('; ')}`;
    return (handle ?? this.actors()[0]!).failure('deadlock', message, '', 'run');
  }

  /**
   * A silent actor. The one blamed is the end of its chain of lock waits; when that holds
   * nothing (it waits for callbacks, say), a silent actor that holds locks and waits for none.
   */
  hangFailure(silent: ActorHandle, stale: ActorHandle[]): ActorFailureError {
    const graph = this.graph('no progress');
    this.waitFor = graph;
    const node = (id: number | undefined) => graph.nodes.find((n) => n.actorId === id);
    let root = rootHolder(graph, silent.actor);
    if (root === undefined || root.holds.length === 0)
      root =
        stale
          .map((a) => node(a.actor))
          .find((n) => n !== undefined && n.holds.length > 0 && n.waitsFor === undefined) ?? root;
    const blamed = this.actors().find((a) => a.actor === root?.actorId);
    const waiting = graph.nodes.filter((n) => n.waitsFor?.holderId === root?.actorId).length;
    const message =
      `no service call for ${this.hangMs} ms` +
      (root !== undefined && root.holds.length > 0
        ? ` while holding ${root.holds.join(', ')} in ${root.service}; ` +
          `${waiting} actor(s) wait for it`
        : '');
    return (blamed ?? silent).failure('hung', message, '', 'run');
  }

  /**
   * Takes note of the run's failure: the failed actor is declared crashed and the locks it
   * holds owner-dead (but not after a deadlock: nobody died there), and the wait-for graph
   * is kept. False when a failure was noted already.
   */
  failed(failure: ActorFailure): boolean {
    if (this.failedAt > 0) return false;
    this.failedAt = performance.now();
    const failed = this.actors().find((a) => a.name === failure.actor);
    if (failed !== undefined && failed.actor >= 0 && failure.kind !== 'deadlock') {
      const locks = declareCrashed(this.layout, failed.actor);
      const pageWord = actorRead(this.layout, failed.actor, AC.page);
      const page = pageWord > 0 ? { page: hexPage(pageWord) } : {};
      const service = failed.lastService();
      this.ownerDead = {
        locks: locks.map((lockId) => ({
          lock: lockName(lockId),
          lockId,
          actor: failed.name,
          service,
          phase: failure.phase,
          ...page,
        })),
        consistent: true,
        detectedMs: this.detectionMs(failed.actor),
      };
    }
    this.waitFor ??= this.graph(`${failure.kind}: ${failure.actor}`);
    return true;
  }

  /** How long after the fault fired the failure was seen (from the detection instant). */
  private detectionMs(actor: number): number {
    const stamp = faultFiredAt(this.layout, actor);
    if (stamp < 0) return -1;
    return faultAgeMs(stamp) - Math.round(performance.now() - this.failedAt);
  }

  /** The injected fault for the report: in whom, and whether it fired. */
  private faultReport(): RunReport['fault'] {
    if (this.fault === undefined) return undefined;
    const fired = this.actors().find(
      (a) => a.actor >= 0 && faultFiredAt(this.layout, a.actor) >= 0,
    );
    return { ...this.fault, actor: fired?.name ?? '(none)', fired: fired !== undefined };
  }

  /** The wait-for graph, the owner-dead locks (with the checker's verdict) and the fault. */
  report(violations: Violation[]): Partial<RunReport> {
    const fault = this.faultReport();
    const beyondLocks = violations.filter((v) => v.kind !== 'owner-dead' && v.kind !== 'lock-held');
    return {
      ...(this.waitFor === undefined ? {} : { waitFor: this.waitFor }),
      ...(this.ownerDead === undefined
        ? {}
        : { ownerDead: { ...this.ownerDead, consistent: beyondLocks.length === 0 } }),
      ...(fault === undefined ? {} : { fault }),
    };
  }
}
