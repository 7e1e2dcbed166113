/**
 * The VM records (layout.ts `VM`): a VM's state, page-directory frame, handle, private-arena
 * hint and the head of its 0800h mapping list. This module is their owner: no other file
 * computes where a VM's word lies, and a VM's state is one of the names below.
 */
import { fail } from './assert.js';
import { type Layout, VM, VM_FREE, VM_LIVE, VM_WORDS } from './layout.js';

export { VM_FREE, VM_LIVE };
/** Being created: its directory is not yet given the common PDEs others change. */
export const VM_CREATING = 2;
/** Being destroyed: no more common PDE updates reach it. */
export const VM_DESTROYING = 3;

/** A word of the VM record: one of layout.ts's `VM` constants (see actor_record.ts's ActorWord). */
export type VmWord = (typeof VM)[keyof typeof VM];

/** The view and index of `vm`'s word `word`: for structures kept in it (lists, hints). */
export function vmSlot(l: Layout, vm: number, word: VmWord): { view: Int32Array; index: number } {
  if (!(vm >= 0 && vm < l.options.vmMax)) fail(`VM ${vm} is not a slot`);
  return { view: l.vms, index: vm * VM_WORDS + word };
}

/** `vm`'s word `word`, read atomically. */
export const vmLoad = (l: Layout, vm: number, word: VmWord): number =>
  Atomics.load(l.vms, vm * VM_WORDS + word);

/**
 * `vm`'s word `word`, read plainly: for words written once before the VM's state turns live
 * (its page directory), read on every service's hot path.
 */
export const vmRead = (l: Layout, vm: number, word: VmWord): number => l.vms[vm * VM_WORDS + word]!;

/** Stores `value` in `vm`'s word `word` atomically. */
export function vmStore(l: Layout, vm: number, word: VmWord, value: number): void {
  Atomics.store(l.vms, vm * VM_WORDS + word, value);
}

/** `vm`'s state (VM_FREE, VM_LIVE, VM_CREATING, VM_DESTROYING). */
export const vmState = (l: Layout, vm: number): number => vmLoad(l, vm, VM.state);

/** Whether `vm` is a slot in use by a live VM. */
export const vmLive = (l: Layout, vm: number): boolean =>
  vm >= 0 && vm < l.options.vmMax && vmState(l, vm) === VM_LIVE;

/** Zeroes `vm`'s whole record (its slot is free again). */
export function clearVm(l: Layout, vm: number): void {
  if (!(vm >= 0 && vm < l.options.vmMax)) fail(`VM ${vm} is not a slot`);
  for (let w = 0; w < VM_WORDS; w++) Atomics.store(l.vms, vm * VM_WORDS + w, 0);
}
