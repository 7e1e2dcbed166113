/**
 * The wait-for graph of a run, read from the buffer without stopping anyone: who holds which
 * kernel lock, who waits for which, in which service, on which page. A waiting actor waits
 * for exactly one lock and a lock has one holder, so each actor has at most one edge and a
 * deadlock is a cycle of those edges. It is a diagnostic snapshot, not a lock protocol: the
 * words are read one by one, so a deadlock is only declared when two snapshots some
 * milliseconds apart show the same cycle with none of its locks taken in between.
 */
import { actorLoad } from '../../shared/actor_record.js';
import {
  AC,
  ACTOR_CRASHED,
  ACTOR_DEAD,
  ACTOR_FREE,
  ACTOR_HOST,
  type Layout,
} from '../../shared/layout.js';
import { heldLocks, lockEpoch, lockHolder, lockName, lockOwnerDead } from '../../shared/lock.js';
import { pressureWanted } from '../../shared/protocol.js';
import { serviceNameOf } from '../../shared/services/index.js';

export interface WaitForNode {
  actor: string;
  actorId: number;
  state: 'running' | 'waiting' | 'ended' | 'crashed';
  /** The service it is in or last called. */
  service: string;
  /** The first linear page its current service locked (hex), when it locked a range. */
  page?: string;
  holds: string[];
  waitsFor?: { lock: string; lockId: number; holder: string; holderId: number };
  /** Pages it asked the free-physical-region callbacks for (Request 1) and waits on. */
  waitsForCallbacks?: number;
}

export interface WaitForGraph {
  reason: string;
  nodes: WaitForNode[];
  /** Actor names around a cycle, when there is one: a deadlock. */
  cycle?: string[];
  /** Locks marked owner-dead: a holder died holding them. */
  ownerDead: string[];
}

export const hexPage = (page: number): string => `${page.toString(16).toUpperCase()}h`;

/** A snapshot of every actor that holds or waits for a lock, plus the actors named. */
export function waitForGraph(
  layout: Layout,
  names: ReadonlyMap<number, string>,
  reason: string,
): WaitForGraph {
  const held = heldLocks(layout);
  const nameOf = (actor: number): string => {
    const kind = actorLoad(layout, actor, AC.kind);
    return names.get(actor) ?? (kind === ACTOR_HOST ? `VMM host ${actor}` : `actor ${actor}`);
  };
  const nodes: WaitForNode[] = [];
  for (let actor = 0; actor < layout.options.actorMax; actor++) {
    const state = actorLoad(layout, actor, AC.state);
    if (state === ACTOR_FREE) continue;
    const waiting = actorLoad(layout, actor, AC.waitingLock) - 1;
    const holds = held.filter((h) => h.holderActor === actor).map((h) => lockName(h.lockId));
    if (!names.has(actor) && holds.length === 0 && waiting < 0) continue;
    const page = actorLoad(layout, actor, AC.page);
    const pressure = pressureWanted(layout, actor);
    const node: WaitForNode = {
      actor: nameOf(actor),
      actorId: actor,
      state: stateName(state, waiting),
      service: serviceNameOf(actorLoad(layout, actor, AC.lastService)),
      ...(page > 0 ? { page: hexPage(page) } : {}),
      ...(pressure > 0 ? { waitsForCallbacks: pressure } : {}),
      holds,
    };
    if (waiting >= 0) {
      const holder = lockHolder(layout, waiting);
      if (holder >= 0) {
        const lock = lockName(waiting);
        node.waitsFor = { lock, lockId: waiting, holder: nameOf(holder), holderId: holder };
      }
    }
    nodes.push(node);
  }
  const cycle = findCycle(nodes);
  const ownerDead = held.filter((h) => lockOwnerDead(layout, h.lockId) === h.holderActor);
  return {
    reason,
    nodes,
    ...(cycle === undefined ? {} : { cycle: cycle.map((n) => n.actor) }),
    ownerDead: ownerDead.map((h) => `${lockName(h.lockId)} (${nameOf(h.holderActor)})`),
  };
}

function stateName(state: number, waiting: number): WaitForNode['state'] {
  if (state === ACTOR_CRASHED) return 'crashed';
  if (state === ACTOR_DEAD) return 'ended';
  return waiting >= 0 ? 'waiting' : 'running';
}

/** The first cycle of wait edges (each node has at most one), or undefined. */
export function findCycle(nodes: readonly WaitForNode[]): WaitForNode[] | undefined {
  const byId = new Map(nodes.map((n) => [n.actorId, n]));
  for (const start of nodes) {
    const path: WaitForNode[] = [];
    let at: WaitForNode | undefined = start;
    while (at !== undefined && !path.includes(at)) {
      path.push(at);
      at = at.waitsFor === undefined ? undefined : byId.get(at.waitsFor.holderId);
    }
    if (at !== undefined) return path.slice(path.indexOf(at));
  }
  return undefined;
}

/**
 * The actor at the end of `from`'s chain of waits: the one that holds up everyone on the
 * chain (itself when it waits for nobody).
 */
export function rootHolder(graph: WaitForGraph, from: number): WaitForNode | undefined {
  const byId = new Map(graph.nodes.map((n) => [n.actorId, n]));
  const seen = new Set<number>();
  let at = byId.get(from);
  while (at?.waitsFor !== undefined && !seen.has(at.actorId)) {
    seen.add(at.actorId);
    const next = byId.get(at.waitsFor.holderId);
    if (next === undefined) break;
    at = next;
  }
  return at;
}

/** The epochs of the locks a cycle waits for: unchanged epochs mean nobody took them. */
export function cycleEpochs(layout: Layout, graph: WaitForGraph): string | undefined {
  if (graph.cycle === undefined) return undefined;
  const epoch = (lockId: number): number => lockEpoch(layout, lockId);
  const locks = graph.nodes
    .filter((n) => graph.cycle!.includes(n.actor) && n.waitsFor !== undefined)
    .map((n) => `${n.waitsFor!.lockId}:${epoch(n.waitsFor!.lockId)}`);
  return `${graph.cycle.join('>')}|${locks.join(',')}`;
}

/** The graph as text lines for the report. */
export function describeGraph(graph: WaitForGraph): string[] {
  const lines = [`wait-for graph (${graph.reason}):`];
  for (const n of graph.nodes) {
    const where = `in ${n.service}${n.page === undefined ? '' : ` on page ${n.page}`}`;
    const holds = n.holds.length === 0 ? 'holds nothing' : `holds ${n.holds.join(', ')}`;
    const waits =
      (n.waitsFor === undefined
        ? ''
        : `; waits for ${n.waitsFor.lock} held by ${n.waitsFor.holder}`) +
      (n.waitsForCallbacks === undefined
        ? ''
        : `; waits for the callbacks (Request 1, ${n.waitsForCallbacks} pages)`);
    lines.push(`  ${n.actor} [${n.state}] ${where}: ${holds}${waits}`);
  }
  if (graph.cycle !== undefined)
    lines.push(`  cycle: ${[...graph.cycle, graph.cycle[0]].join(' -> ')}`);
  for (const lock of graph.ownerDead) lines.push(`  owner-dead: ${lock}`);
  return lines;
}
