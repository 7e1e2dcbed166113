/**
 * Raw options of one simulated machine, and the presets. These are knobs, not the derived
 * constants: layout.ts turns them into offsets and sizes. Validation of user input against
 * these limits happens here too, so every entry point refuses the same things the same way.
 */
import { errorClass } from './error_class.js';

export const LockingPolicies = ['global', 'fine'] as const;
export type LockingPolicy = (typeof LockingPolicies)[number];
/** What lockdep does with a lock-order or interrupt-time violation: throw, or record it. */
export const LockOrderModes = ['assert', 'report'] as const;
export type LockOrderMode = (typeof LockOrderModes)[number];

export interface MachineOptions {
  /** Physical pages below the top of RAM, the 640 KiB–1 MiB adapter hole included. */
  ramPages: number;
  /** Virtual machines that can exist at once, the system VM included. */
  vmMax: number;
  /** Memory blocks (allocations, regions, mappings) that can exist at once. */
  blockMax: number;
  /** Contexts (devices and VMs, in-process or in workers) that can attach. */
  actorMax: number;
  /** Private V86 pages each new VM gets above the global V86 data area. */
  vmV86Pages: number;
  /** `global`: one VMM lock; `fine`: per page table, VM space, block table and free list. */
  locking: LockingPolicy;
  /** Bound on any one lock wait before it is reported as a liveness failure. */
  lockWaitMsMax: number;
  /**
   * `assert`: a lock taken against the ranks (or a lock that is not interrupt-safe taken at
   * interrupt time) throws at once; `report`: it is recorded, reported by the checker, and
   * the acquisition goes on (so the deadlock it risks can happen and be diagnosed).
   */
  lockOrder: LockOrderMode;
  /** Pages of the linear frame buffer at E0000000h (device memory; 1024 = 4 MiB). */
  frameBufferPages: number;
}

export const presets = {
  /** So small that exhaustion and contention happen in every run. */
  testMin: {
    ramPages: 448,
    vmMax: 4,
    blockMax: 256,
    actorMax: 16,
    vmV86Pages: 4,
    locking: 'fine',
    lockWaitMsMax: 2000,
    lockOrder: 'assert',
    frameBufferPages: 1024,
  },
  standard: {
    ramPages: 4096,
    vmMax: 32,
    blockMax: 4096,
    actorMax: 64,
    vmV86Pages: 16,
    locking: 'fine',
    lockWaitMsMax: 2000,
    lockOrder: 'assert',
    frameBufferPages: 1024,
  },
} as const satisfies Record<string, MachineOptions>;

/** The limits a machine must fit in; layout.ts asserts the derived sizes against them. */
export const limits = {
  ramPagesMin: 0x180, // the adapter hole ends at 100h; leave room above it
  ramPagesMax: 0x40000, // 1 GiB of simulated RAM
  vmMaxMax: 256,
  blockMaxMax: 1 << 16,
  actorMaxMax: 1024,
} as const;

/** Thrown for an option a caller got wrong; the message names the option. */
export class OptionError extends Error {
  static {
    errorClass(this, 'OptionError');
  }
  override name = 'OptionError';
}

function checkInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new OptionError(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/** Fills in the standard preset and checks every option, naming the first one that is wrong. */
export function resolveOptions(options: Partial<MachineOptions> = {}): MachineOptions {
  const merged: MachineOptions = { ...presets.standard, ...options };
  checkInteger('ramPages', merged.ramPages, limits.ramPagesMin, limits.ramPagesMax);
  checkInteger('vmMax', merged.vmMax, 1, limits.vmMaxMax);
  checkInteger('blockMax', merged.blockMax, 16, limits.blockMaxMax);
  checkInteger('actorMax', merged.actorMax, 2, limits.actorMaxMax);
  checkInteger('vmV86Pages', merged.vmV86Pages, 1, 0x60);
  checkInteger('lockWaitMsMax', merged.lockWaitMsMax, 1, 600_000);
  checkInteger('frameBufferPages', merged.frameBufferPages, 16, 4096);
  if (!LockOrderModes.includes(merged.lockOrder)) {
    throw new OptionError(
      `lockOrder must be one of ${LockOrderModes.join(', ')}, got ${String(merged.lockOrder)}`,
    );
  }
  if (!LockingPolicies.includes(merged.locking)) {
    throw new OptionError(
      `locking must be one of ${LockingPolicies.join(', ')}, got ${String(merged.locking)}`,
    );
  }
  return merged;
}
