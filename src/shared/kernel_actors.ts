/**
 * Actor slots: claiming one for a device, VM or host context, giving it back when a VM is
 * destroyed, its flags (dropped, got Init_Complete) and the rule violations recorded in it.
 * The kernel's half of the actor record; the words themselves are actor_record.ts's.
 */
import { fail } from './assert.js';
import { actorAdd, actorLoad, actorOr, actorStore, claimActorSlot } from './actor_record.js';
import { holdsFrames } from './frames.js';
import { AC, ACTOR_DEAD, ACTOR_FREE, ACTOR_LIVE, ACTOR_VM, H, type Layout } from './layout.js';

/**
 * Claims the first free actor slot for a context of `kind` in `vm`: its record is cleared
 * of what a VM before left there, and counted in use. Throws when every slot is taken.
 */
export function claimActor(l: Layout, kind: number, vm: number, initOrder: number): number {
  if (!(vm >= 0 && vm < l.options.vmMax)) fail('claimActor: not a VM slot', vm);
  for (let actor = 0; actor < l.options.actorMax; actor++) {
    if (!claimActorSlot(l, actor, kind, vm, initOrder)) continue; // clears what was left
    Atomics.add(l.header, H.actorCount, 1);
    // Slot-local facts only: other threads claim and count slots at the same time.
    if (!(actorLoad(l, actor, AC.state) === ACTOR_LIVE)) fail('claimActor: slot not live', actor);
    if (!(actorLoad(l, actor, AC.kind) === kind)) fail('claimActor: slot of another kind', actor);
    return actor;
  }
  throw new Error(`too many devices and VMs: actorMax is ${l.options.actorMax}`);
}

/**
 * Gives back a destroyed VM's slot: free for the next VM, unless the checker still has to
 * report something in its name (frames held out, calls at interrupt time), when it stays
 * dead. Returns whether it was freed.
 */
export function releaseActor(l: Layout, actor: number): boolean {
  const state = actorLoad(l, actor, AC.state);
  if (!(state !== ACTOR_FREE && state !== ACTOR_DEAD)) fail('releaseActor: slot not in use', actor);
  if (!(actorLoad(l, actor, AC.kind) === ACTOR_VM)) fail('releaseActor: not a VM slot', actor);
  const holds = holdsFrames(l, actor) || actorLoad(l, actor, AC.violations) !== 0;
  actorStore(l, actor, AC.state, holds ? ACTOR_DEAD : ACTOR_FREE);
  if (!holds) Atomics.sub(l.header, H.actorCount, 1);
  // A freed slot may be claimed by another thread at once; a dead one is never claimed.
  if (!(!holds || actorLoad(l, actor, AC.state) === ACTOR_DEAD))
    fail('releaseActor: not dead', actor);
  return !holds;
}

/** `actor`'s flags (ACTOR_DROPPED, ACTOR_GOT_INIT_COMPLETE). */
export const actorFlags = (l: Layout, actor: number): number => actorLoad(l, actor, AC.flags);

/** Sets `flag` in `actor`'s flags. */
export function setActorFlag(l: Layout, actor: number, flag: number): void {
  actorOr(l, actor, AC.flags, flag);
}

/** Records a rule violation (service `serviceSlot`) in the actor's slot, for every checker. */
export function recordViolation(l: Layout, actor: number, serviceSlot: number): void {
  const word = serviceSlot < 32 ? AC.violationSlotsLow : AC.violationSlotsHigh;
  Atomics.add(l.header, H.interruptViolations, 1);
  actorOr(l, actor, word, 1 << (serviceSlot % 32));
  actorAdd(l, actor, AC.violations, 1);
}
