/**
 * The actor records (layout.ts `AC`): one per device or VM context. This module is their
 * owner: no other file computes where an actor's word lies. Words an actor's own thread
 * writes on every call are plain reads and writes; words other threads read or write go
 * through Atomics. `actorSlot` is for futex waits and wakes on a word (protocol.ts names
 * each such handshake).
 */
import { AC, ACTOR_FREE, ACTOR_LIVE, ACTOR_WORDS, type Layout } from './layout.js';
import { fail } from './assert.js';

/**
 * A word of the actor record: one of layout.ts's `AC` constants (`AC.calls`, …). A constant,
 * not a field name looked up here: a keyed lookup that sees many names stops being inlined.
 */
export type ActorWord = (typeof AC)[keyof typeof AC];

/**
 * The index in `l.actors` of `actor`'s word `word`: for futex waits and wakes (protocol.ts),
 * and for a hot path that computes once where its own actor's word lies (context.ts).
 */
export function actorSlot(l: Layout, actor: number, word: ActorWord): number {
  if (!(actor >= 0 && actor < l.options.actorMax)) fail(`actor ${actor} is not a slot`);
  return actor * ACTOR_WORDS + word;
}

/** `actor`'s word `word`, read atomically. */
export const actorLoad = (l: Layout, actor: number, word: ActorWord): number =>
  Atomics.load(l.actors, actor * ACTOR_WORDS + word);

/** Stores `value` in `actor`'s word `word` atomically. */
export function actorStore(l: Layout, actor: number, word: ActorWord, value: number): void {
  Atomics.store(l.actors, actor * ACTOR_WORDS + word, value);
}

/** Adds `delta` to `actor`'s word `word` atomically; returns the old value. */
export const actorAdd = (l: Layout, actor: number, word: ActorWord, delta: number): number =>
  Atomics.add(l.actors, actor * ACTOR_WORDS + word, delta);

/** Sets `bits` in `actor`'s word `word` atomically; returns the old value. */
export const actorOr = (l: Layout, actor: number, word: ActorWord, bits: number): number =>
  Atomics.or(l.actors, actor * ACTOR_WORDS + word, bits);

/** `actor`'s word `word`, read plainly: for words only `actor`'s own thread writes. */
export const actorRead = (l: Layout, actor: number, word: ActorWord): number =>
  l.actors[actor * ACTOR_WORDS + word]!;

/**
 * Claims `actor`'s slot when it is free: live, the rest of the record zeroed (what an actor
 * before left in it), then its kind, VM and init order. False when another thread has it.
 */
export function claimActorSlot(
  l: Layout,
  actor: number,
  kind: number,
  vm: number,
  initOrder: number,
): boolean {
  if (!(actor >= 0 && actor < l.options.actorMax)) fail(`actor ${actor} is not a slot`);
  const base = actor * ACTOR_WORDS;
  if (Atomics.compareExchange(l.actors, base + AC.state, ACTOR_FREE, ACTOR_LIVE) !== ACTOR_FREE)
    return false;
  l.actors.fill(0, base + 1, base + ACTOR_WORDS);
  l.actors[base + AC.kind] = kind;
  l.actors[base + AC.vm] = vm;
  l.actors[base + AC.initOrder] = initOrder;
  return true;
}
