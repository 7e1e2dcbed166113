/**
 * The machine pool: booted buffers this thread reuses for many short runs in a row
 * (controlled mode), so that each costs a copy of a snapshot, not a new SharedArrayBuffer.
 */
import { type MachineOptions, resolveOptions } from './config.js';
import { createKernel, Kernel } from './kernel.js';
import type { Layout } from './layout.js';

interface PooledMachine {
  layout: Layout;
  snapshot: Uint8Array;
  busy: boolean;
}
const pool = new Map<string, PooledMachine>();

/**
 * A freshly booted kernel, like createKernel, but made by copying a booted snapshot into a
 * buffer this thread reuses: many short runs in a row (controlled mode) then cost a copy,
 * not a new SharedArrayBuffer each. The previous kernel of the same options must be done
 * with (it is, when runs follow one another); `release` hands the buffer back.
 */
export function pooledKernel(options: Partial<MachineOptions> = {}): {
  kernel: Kernel;
  release: () => void;
} {
  const key = JSON.stringify(resolveOptions(options));
  let entry = pool.get(key);
  if (entry === undefined) {
    const booted = createKernel(options);
    entry = { layout: booted.layout, snapshot: new Uint8Array(booted.sab).slice(), busy: false };
    pool.set(key, entry);
  }
  if (entry.busy) return { kernel: createKernel(options), release: () => undefined };
  const machine = entry;
  machine.busy = true;
  new Uint8Array(machine.layout.sab).set(machine.snapshot);
  return {
    kernel: new Kernel(machine.layout, false, 0),
    release: () => void (machine.busy = false),
  };
}
