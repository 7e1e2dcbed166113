/**
 * CPU-style access to simulated memory: linear reads and writes walk the page tables as the
 * processor would, set A and D, and raise a page fault for a not-present page or a
 * protection breach (ring 3 on a supervisor page, a write to a read-only page — as with
 * CR0.WP set). Physical reads and writes go straight to frames and device memory.
 */
import { fail } from './assert.js';
import { P_ACC, P_DIRTY } from './constants.js';
import type { Context } from './context.js';
import { type Layout, PAGE_SIZE } from './layout.js';
import { pteAt, pteIndex, setPteBits, spaceLockOf } from './page_table.js';
import { pteFrame, ptePresent, pteUser, pteWritable } from './pte.js';
import { errorClass } from './error_class.js';

export interface AccessOptions {
  /** 0: ring-0 code (a device); 3: code in the VM. */
  ring: 0 | 3;
}

export class PageFaultError extends Error {
  static {
    errorClass(this, 'PageFaultError');
  }
  override name = 'PageFaultError';
  constructor(
    readonly address: number,
    readonly write: boolean,
    readonly user: boolean,
    readonly present: boolean,
  ) {
    const what = present
      ? write
        ? 'protection fault on write'
        : 'protection fault on read'
      : 'page not present';
    super(
      `page fault at ${address.toString(16).padStart(8, '0')}h: ${what} (ring ${user ? 3 : 0})`,
    );
  }
}

function checkRange(address: number, length: number): void {
  if (!Number.isInteger(address) || address < 0 || address > 0xffffffff) {
    throw new RangeError(`address must be a 32-bit linear address, got ${address}`);
  }
  if (!Number.isInteger(length) || length < 0 || address + length > 0x100000000) {
    throw new RangeError(`length ${length} runs past the 4 GiB linear space`);
  }
}

/** Copies between `bytes` and linear memory of `vm`, page by page. */
function access(
  ctx: Context,
  vm: number,
  address: number,
  bytes: Uint8Array,
  write: boolean,
  ring: 0 | 3,
): void {
  const l = ctx.l;
  checkRange(address, bytes.length);
  let done = 0;
  while (done < bytes.length) {
    const linear = address + done;
    const page = Math.floor(linear / PAGE_SIZE);
    const offset = linear % PAGE_SIZE;
    const chunk = Math.min(PAGE_SIZE - offset, bytes.length - done);
    const lock = spaceLockOf(page, vm);
    ctx.locker.acquire(lock);
    try {
      const index = pteIndex(l, vm, page);
      const pte = index < 0 ? 0 : pteAt(l, index);
      if (!ptePresent(pte)) throw new PageFaultError(linear, write, ring === 3, false);
      if ((ring === 3 && !pteUser(pte)) || (write && !pteWritable(pte))) {
        throw new PageFaultError(linear, write, ring === 3, true);
      }
      // a present entry lies in a page table, and a chunk never crosses its page
      if (!(index >= 0 && offset + chunk <= PAGE_SIZE))
        fail('access: chunk outside its page', linear);
      setPteBits(l, ctx.locker, index, write ? P_ACC | P_DIRTY : P_ACC);
      copyPhysical(l, pteFrame(pte), offset, bytes.subarray(done, done + chunk), write);
    } finally {
      ctx.locker.release(lock);
    }
    done += chunk;
  }
}

/** Reads or writes within one physical page; a page with no memory behind it reads 0FFh. */
function copyPhysical(
  l: Layout,
  physPage: number,
  offset: number,
  chunk: Uint8Array,
  write: boolean,
): void {
  const target = l.physicalBytes(physPage);
  if (target === undefined) {
    if (!write) chunk.fill(0xff); // open bus
    return;
  }
  const start = target.offset + offset;
  if (write) target.bytes.set(chunk, start);
  else chunk.set(target.bytes.subarray(start, start + chunk.length));
}

export function readLinear(
  ctx: Context,
  vm: number,
  address: number,
  length: number,
  o: AccessOptions,
): Uint8Array {
  const bytes = new Uint8Array(length);
  access(ctx, vm, address, bytes, false, o.ring);
  return bytes;
}

export function writeLinear(
  ctx: Context,
  vm: number,
  address: number,
  bytes: Uint8Array,
  o: AccessOptions,
): void {
  access(ctx, vm, address, bytes, true, o.ring);
}

function physicalAccess(l: Layout, address: number, bytes: Uint8Array, write: boolean): void {
  checkRange(address, bytes.length);
  // Every page first: a range that runs past memory is refused whole, nothing written.
  const last = Math.floor((address + Math.max(bytes.length, 1) - 1) / PAGE_SIZE);
  for (let page = Math.floor(address / PAGE_SIZE); page <= last; page++) {
    if (l.physicalBytes(page) === undefined) {
      const at = Math.max(address, page * PAGE_SIZE);
      throw new RangeError(`no memory at physical address ${at.toString(16)}h`);
    }
  }
  let done = 0;
  while (done < bytes.length) {
    const physical = address + done;
    const page = Math.floor(physical / PAGE_SIZE);
    const offset = physical % PAGE_SIZE;
    const chunk = Math.min(PAGE_SIZE - offset, bytes.length - done);
    copyPhysical(l, page, offset, bytes.subarray(done, done + chunk), write);
    done += chunk;
  }
}

/** Bytes of RAM or device memory at a physical address (no page tables involved). */
export function readPhysical(l: Layout, address: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  physicalAccess(l, address, bytes, false);
  return bytes;
}

export function writePhysical(l: Layout, address: number, bytes: Uint8Array): void {
  physicalAccess(l, address, bytes, true);
}
