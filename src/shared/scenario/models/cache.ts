/**
 * Built-in device model "cache" (seed 000, reference §2.18): a VxD that keeps a cache in a
 * free physical region. It maps a PageFixed minimum it never gives back, grows from idle
 * free-list pages on Request 0, shrinks on Request 1, and checks that every cached page
 * keeps its bytes. It never exchanges frames (that is the pager, page_swap.ts).
 *
 * Callbacks: the callback is async. In the worker runtime the kernel awaits it and honours
 * carry. In-process (createKernel) the kernel calls callbacks synchronously and cannot await
 * the promise: there the callback is fire-and-forget, its pages are mapped or freed a little
 * later, and carry is not seen (every callback runs).
 */
import { z } from 'zod';
import {
  type ControlMessageName,
  FREE_PHYS_REG_AVAILABLE,
  FREE_PHYS_REG_NEEDED,
  PageFixed,
  PageMapFreePhysReg,
  PG_SYS,
  P_PRES,
} from '../../constants.js';
import { type DeviceActor, type DeviceDefinition, type DeviceProgram } from '../scenario.js';
import { modelDevice } from './model.js';
import { makeToken, TOKEN_BYTES } from '../../page_token.js';
import { hex, sameBytes } from './shared_words.js';

export const cacheOptionsSchema = z
  .strictObject({
    name: z.string().min(1).max(8).default('CACHE'),
    initOrder: z.number().int().min(0).max(0xffffffff).default(0x30000000),
    regionPages: z.number().int().min(1).max(1024).default(32),
    fixedMinimum: z.number().int().min(0).max(1024).default(4),
  })
  .refine((o) => o.fixedMinimum <= o.regionPages, {
    message: 'fixedMinimum must not exceed regionPages',
    path: ['fixedMinimum'],
  });
export type CacheOptions = z.input<typeof cacheOptionsSchema>;
type CacheConfig = z.output<typeof cacheOptionsSchema>;

/** Free pages a Request 0 never takes; of the rest it takes one page in GROW_SHARE. */
const GROW_RESERVE_PAGES = 32;
const GROW_SHARE = 4;

type PageState = 'absent' | 'fixed' | 'mapped';

class Cache implements DeviceProgram {
  readonly counters = { mapped: 0, unmapped: 0, request0: 0, request1: 0, carried: 0, short: 0 };
  private firstPage = -1;
  private readonly state: PageState[];
  /** Pages an operation is working on: nobody else maps, unmaps or reads them meanwhile. */
  private readonly busy = new Set<number>();
  private readonly tokens = new Map<number, Uint8Array>();
  private fixedShort = 0;
  private allowed = false;
  private finished = false;
  private growing = false;
  /** Extra reserve after a Request 1, so the next Request 0 does not take the pages back. */
  private pressure = 0;
  private tokenCount = 0;
  private readonly writer: number;

  constructor(
    private readonly dev: DeviceActor,
    private readonly o: CacheConfig,
  ) {
    this.state = new Array<PageState>(o.regionPages).fill('absent');
    this.writer = dev.random.nextU32();
  }

  /** The region's first linear page; -1 until Sys_Critical_Init made it. */
  get regionFirstPage(): number {
    return this.firstPage;
  }

  async control(message: ControlMessageName): Promise<boolean> {
    if (message === 'Sys_Critical_Init') return this.createRegion();
    if (message === 'Device_Init' && this.firstPage >= 0) {
      const callback = (request: number, count: number): boolean | Promise<boolean> =>
        this.callback(request, count);
      return (await this.dev._SetFreePhysRegCalBk(callback, 0)) === 0;
    }
    if (message === 'Init_Complete' && this.firstPage >= 0) {
      this.allowed = true;
      await this.mapFixedMinimum();
    }
    return false;
  }

  /** One unit of work: finish the minimum if short, check the region and some pages. */
  async step(): Promise<void> {
    if (!this.allowed || this.finished) return;
    this.pressure = Math.max(0, this.pressure - 1);
    if (this.fixedShort > 0) await this.completeFixed(1);
    await this.checkPresence();
    for (let i = 0; i < 2; i++) {
      const index = this.take((s) => s !== 'absent');
      if (index === undefined) break;
      await this.verify(index).finally(() => this.busy.delete(index));
    }
  }

  /** The end: no more growing; every cached page must still hold its bytes. */
  async finish(): Promise<void> {
    this.finished = true;
    for (const index of [...this.tokens.keys()]) {
      if (this.busy.has(index)) continue;
      this.busy.add(index);
      await this.verify(index).finally(() => this.busy.delete(index));
    }
  }

  private async createRegion(): Promise<boolean> {
    const { eax } = await this.dev._PageAllocate(
      this.o.regionPages,
      PG_SYS,
      0,
      0,
      0,
      0,
      0,
      PageMapFreePhysReg,
    );
    if (eax === 0) return true; // no region, no cache: the device fails to load
    this.firstPage = eax >>> 12;
    return false;
  }

  private callback(request: number, count: number): boolean | Promise<boolean> {
    if (this.finished || !this.allowed) return false;
    if (request === FREE_PHYS_REG_NEEDED) return this.release(count);
    if (request !== FREE_PHYS_REG_AVAILABLE || this.growing) return false;
    this.counters.request0 += 1;
    const fixed = Math.min(this.fixedShort, count);
    const room = Math.floor((count - fixed - GROW_RESERVE_PAGES - this.pressure) / GROW_SHARE);
    if (fixed === 0 && room <= 0) return false; // decided at once: nothing to do
    return this.grow(fixed, Math.max(room, 0));
  }

  /** Request 0: the fixed pages still missing first, then `count` non-fixed pages. */
  private async grow(fixed: number, count: number): Promise<boolean> {
    this.growing = true;
    try {
      if (fixed > 0) await this.completeFixed(fixed);
      for (let i = 0; i < count; i++) {
        const index = this.take((s) => s === 'absent');
        if (index === undefined || !(await this.mapPage(index, false))) break;
      }
    } finally {
      this.growing = false;
    }
    return false; // others may use the free pages too
  }

  /** Request 1: unmap non-fixed pages, `count` if it can; carry only when it freed enough. */
  private async release(count: number): Promise<boolean> {
    this.counters.request1 += 1;
    this.pressure += 2 * count + GROW_SHARE;
    let released = 0;
    while (released < count) {
      const index = this.take((s) => s === 'mapped');
      if (index === undefined || !(await this.unmapPage(index))) break;
      released += 1;
    }
    if (released >= count) this.counters.carried += 1;
    return released >= count;
  }

  /** Seed 000: the whole minimum in one call; when the free list is short, what it can. */
  private async mapFixedMinimum(): Promise<void> {
    const n = this.o.fixedMinimum;
    if (n === 0) return;
    for (let i = 0; i < n; i++) this.busy.add(i);
    const ok = await this.dev._MapFreePhysReg(this.firstPage, n, PageFixed);
    for (let i = 0; i < n; i++) this.busy.delete(i);
    if (ok !== 0) {
      for (let i = 0; i < n; i++) {
        this.busy.add(i);
        await this.fill(i, 'fixed').finally(() => this.busy.delete(i));
      }
      return;
    }
    this.fixedShort = n;
    await this.completeFixed(n);
    if (this.fixedShort > 0) this.counters.short += 1; // short of the minimum: retried later
  }

  private async completeFixed(limit: number): Promise<void> {
    for (let i = 0; i < limit && this.fixedShort > 0; i++) {
      const index = this.take((s) => s === 'absent');
      if (index === undefined || !(await this.mapPage(index, true))) return;
      this.fixedShort -= 1;
    }
  }

  /** Picks a random page in a state that nobody works on, and marks it busy. */
  private take(wanted: (state: PageState) => boolean): number | undefined {
    const candidates: number[] = [];
    this.state.forEach((s, i) => {
      if (wanted(s) && !this.busy.has(i)) candidates.push(i);
    });
    if (candidates.length === 0) return undefined;
    const index = this.dev.random.pick(candidates);
    this.busy.add(index);
    return index;
  }

  /** Maps one busy page and gives it a token; false if the free list ran short. */
  private async mapPage(index: number, fixed: boolean): Promise<boolean> {
    try {
      const flags = fixed ? PageFixed : 0;
      if ((await this.dev._MapFreePhysReg(this.firstPage + index, 1, flags)) === 0) return false;
      await this.fill(index, fixed ? 'fixed' : 'mapped');
      return true;
    } finally {
      this.busy.delete(index);
    }
  }

  private async fill(index: number, state: PageState): Promise<void> {
    this.tokenCount += 1;
    const token = makeToken(this.writer, this.tokenCount);
    await this.dev.writeLinear((this.firstPage + index) * 4096, token);
    this.tokens.set(index, token);
    this.state[index] = state;
    this.counters.mapped += 1;
  }

  private async unmapPage(index: number): Promise<boolean> {
    try {
      await this.verify(index);
      const page = this.firstPage + index;
      if ((await this.dev._UnmapFreePhysReg(page, 1, 0)) === 0) {
        const reason = this.dev.lastError?.reason ?? '';
        this.dev.violation(`_UnmapFreePhysReg(${hex(page)}, 1) of a cached page: ${reason}`, {
          page,
        });
        return false;
      }
      this.state[index] = 'absent';
      this.tokens.delete(index);
      this.counters.unmapped += 1;
      return true;
    } finally {
      this.busy.delete(index);
    }
  }

  private async verify(index: number): Promise<void> {
    const token = this.tokens.get(index);
    if (token === undefined) return;
    const page = this.firstPage + index;
    const bytes = await this.dev.readLinear(page * 4096, TOKEN_BYTES);
    if (!sameBytes(bytes, token))
      this.dev.violation(`cached page ${hex(page)} lost its data`, { page });
  }

  /** The region's PTEs must agree with the cache's own record of what is mapped. */
  private async checkPresence(): Promise<void> {
    const ptes = new Uint32Array(this.o.regionPages);
    if ((await this.dev._CopyPageTable(this.firstPage, ptes.length, ptes, 0)) === 0) {
      this.dev.violation(`_CopyPageTable of the region: ${this.dev.lastError?.reason}`);
      return;
    }
    ptes.forEach((pte, i) => {
      if (this.busy.has(i) || ((pte & P_PRES) !== 0) === (this.state[i] !== 'absent')) return;
      const page = this.firstPage + i;
      this.dev.violation(
        `cached page ${hex(page)} is ${this.state[i]} but its PTE is ${hex(pte)}`,
        {
          page,
          frame: pte >>> 12,
        },
      );
    });
  }
}

/** The cache device: a factory for a scenario's device list. */
export function cacheDevice(options: CacheOptions = {}): DeviceDefinition {
  const o = cacheOptionsSchema.parse(options);
  return modelDevice(o, (dev) => new Cache(dev, o));
}
