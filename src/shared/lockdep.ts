/**
 * The lockdep table in the buffer: lock-order and interrupt-time violations, recorded by any
 * actor's Locker (lock.ts) once per kind and pair of locks, read by the checker. The only
 * module that indexes the `lockdep` region.
 */
import { H, LD, LOCKDEP_MAX, LOCKDEP_WORDS, type Layout } from './layout.js';

/** One lockdep record: the kind, the lock held (or -1), the lock taken, who, in which service. */
export interface LockdepEntry {
  kind: number;
  held: number;
  taken: number;
  actor: number;
  service: number;
}

/**
 * Records a lock-order or interrupt-time violation in the buffer's lockdep table, once per
 * kind and pair of locks; the checker reports the table.
 */
export function recordLockdep(layout: Layout, entry: LockdepEntry): void {
  const table = layout.lockdep;
  const count = Math.min(Atomics.load(layout.header, H.lockdepCount), LOCKDEP_MAX);
  for (let i = 0; i < count; i++) {
    const base = i * LOCKDEP_WORDS;
    if (
      Atomics.load(table, base + LD.kind) === entry.kind &&
      table[base + LD.held] === entry.held &&
      table[base + LD.taken] === entry.taken
    )
      return;
  }
  const slot = Atomics.add(layout.header, H.lockdepCount, 1);
  if (slot >= LOCKDEP_MAX) return;
  const base = slot * LOCKDEP_WORDS;
  Atomics.store(table, base + LD.held, entry.held);
  Atomics.store(table, base + LD.taken, entry.taken);
  Atomics.store(table, base + LD.actor, entry.actor);
  Atomics.store(table, base + LD.service, entry.service);
  Atomics.store(table, base + LD.kind, entry.kind); // last: a reader sees whole entries only
}

/** The lockdep table's entries, for the checker. */
export function lockdepEntries(layout: Layout): LockdepEntry[] {
  const entries = [];
  const count = Math.min(Atomics.load(layout.header, H.lockdepCount), LOCKDEP_MAX);
  for (let i = 0; i < count; i++) {
    const at = (word: number): number => Atomics.load(layout.lockdep, i * LOCKDEP_WORDS + word);
    if (at(LD.kind) === 0) continue;
    entries.push({
      kind: at(LD.kind),
      held: at(LD.held),
      taken: at(LD.taken),
      actor: at(LD.actor),
      service: at(LD.service),
    });
  }
  return entries;
}
