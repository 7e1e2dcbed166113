/**
 * Built-in device model "page-swap" (seed 001, reference §5): the virtual pageswap device.
 * It owns a free physical region and, at interrupt time (a simulated disk completion),
 * reads ahead and writes behind by moving frames with _XchgFreePhysReg chains, and compacts
 * the region the way seed 001's Comments describe. Tokens at the start of each page must
 * follow their frame. It leaves alone every page a DMA device has pinned (shared_words.ts).
 * Planted bug (plantLostFrame): once, a frame is taken out and never put back.
 */
import { z } from 'zod';
import {
  type ControlMessageName,
  ERROR_DWORD,
  PageMapFreePhysReg,
  PG_SYS,
  P_PRES,
} from '../../constants.js';
import { type DeviceActor, type DeviceDefinition, type DeviceProgram } from '../scenario.js';
import { modelDevice } from './model.js';
import { makeToken, TOKEN_BYTES } from '../../page_token.js';
import { hex, publishSwapRegion, RegionClaims, sameBytes } from './shared_words.js';

export const pageSwapOptionsSchema = z.strictObject({
  name: z.string().min(1).max(8).default('PAGESWAP'),
  initOrder: z.number().int().min(0).max(0xffffffff).default(0x1c000000), // PAGESWAP's
  regionPages: z.number().int().min(2).max(256).default(32),
  plantLostFrame: z.boolean().default(false),
});
export type PageSwapOptions = z.input<typeof pageSwapOptionsSchema>;
type PageSwapConfig = z.output<typeof pageSwapOptionsSchema>;

type DiskOp = 'write-behind' | 'read-ahead' | 'compact';
const DISK_OPS: readonly DiskOp[] = ['write-behind', 'read-ahead', 'compact'];
const QUEUE_MAX = 8;
const HOPS_MAX = 4;
const COMPACT_MOVES = 3;
const PLANT_AT_INTERRUPT = 2;

/** A frame taken out of the region: its token, the hole it left, the pages its chain holds. */
interface Held {
  frame: number;
  token: Uint8Array | undefined;
  hole: number;
  claims: number[];
}

class PageSwap implements DeviceProgram {
  readonly counters = { moves: 0, chains: 0, interrupts: 0, plantedPage: -1, plantedFrame: -1 };
  private firstPage = -1;
  /** Region page index → the frame the device expects there (0: not present). */
  private readonly frames: number[];
  private readonly tokens: (Uint8Array | undefined)[];
  private held: Held | null = null;
  private readonly queue: DiskOp[] = [];
  /** A chain is under way: a disk completion arriving meanwhile is queued, not nested. */
  private chainBusy = false;
  /** Pages are moved only while claimed, and claimed only if no DMA device pinned them. */
  private claims: RegionClaims;
  private planted = false;
  /** From Init_Complete (the region mapped) to finish: disk completions do work. */
  private running = false;
  private tokenCount = 0;
  private readonly writer: number;

  constructor(
    private readonly dev: DeviceActor,
    private readonly o: PageSwapConfig,
  ) {
    this.frames = new Array<number>(o.regionPages).fill(0);
    this.tokens = new Array<Uint8Array | undefined>(o.regionPages).fill(undefined);
    this.writer = dev.random.nextU32();
    this.claims = new RegionClaims(dev.shared, -1, o.regionPages);
  }

  async control(message: ControlMessageName): Promise<boolean> {
    if (message === 'Sys_Critical_Init') {
      const n = this.o.regionPages;
      const { eax } = await this.dev._PageAllocate(n, PG_SYS, 0, 0, 0, 0, 0, PageMapFreePhysReg);
      if (eax === 0) return true; // no region: the device fails to load
      this.firstPage = eax >>> 12;
      const pinBase = publishSwapRegion(this.dev.shared, this.o.name, this.firstPage, n);
      this.claims = new RegionClaims(this.dev.shared, pinBase, n);
    }
    if (message === 'Init_Complete' && this.firstPage >= 0) await this.mapInitial();
    return false;
  }

  /** Queues a disk operation and checks the region against the device's record. */
  async step(): Promise<void> {
    if (this.firstPage < 0) return;
    if (this.queue.length < QUEUE_MAX) this.queue.push(this.dev.random.pick(DISK_OPS));
    await this.checkRegion();
    const index = this.claimRandom((i) => this.frames[i] !== 0);
    if (index === undefined) return;
    await this.verify(index, this.tokens[index]).finally(() => this.release([index]));
  }

  /** A disk completion, at interrupt time: only asynchronous services from here on. */
  async interrupt(): Promise<void> {
    this.counters.interrupts += 1;
    if ((await this.dev.Get_VMM_Reenter_Count()) === 0)
      this.dev.violation('interrupt handler ran with a reenter count of 0');
    if (!this.running || this.chainBusy) return;
    this.chainBusy = true;
    try {
      const plantDue = this.counters.interrupts >= PLANT_AT_INTERRUPT;
      if (this.o.plantLostFrame && !this.planted && plantDue) await this.plantLostFrame();
      const op = this.queue.shift() ?? this.dev.random.pick(DISK_OPS);
      if (op === 'write-behind') await this.writeBehind();
      else if (op === 'read-ahead') await this.readAhead();
      else await this.compact(COMPACT_MOVES);
    } finally {
      this.chainBusy = false;
    }
  }

  /** The end: the write in flight completes, so no frame stays held (but a planted one). */
  async finish(): Promise<void> {
    if (this.firstPage < 0) return;
    this.running = false; // a completion arriving from now on starts nothing
    this.chainBusy = true;
    try {
      if (this.held !== null) await this.completeChain();
      if (this.o.plantLostFrame && !this.planted) await this.plantLostFrame();
    } finally {
      this.chainBusy = false;
    }
    for (let i = 0; i < this.o.regionPages; i++) {
      if (this.frames[i] === 0 || !this.claims.claim(i)) continue;
      await this.verify(i, this.tokens[i]).finally(() => this.release([i]));
    }
  }

  /** Maps about half the region, page by page, so compaction has holes to close. */
  private async mapInitial(): Promise<void> {
    const n = this.o.regionPages;
    for (let i = 0; i < n; i++) {
      if (!this.dev.random.chance(1, 2)) continue;
      if ((await this.dev._MapFreePhysReg(this.firstPage + i, 1, 0)) === 0) break;
    }
    const ptes = new Uint32Array(n);
    await this.dev._CopyPageTable(this.firstPage, n, ptes, 0);
    for (let i = 0; i < n; i++) {
      if ((ptes[i]! & P_PRES) === 0) continue;
      this.frames[i] = ptes[i]! >>> 12;
      this.tokenCount += 1;
      const token = makeToken(this.writer, this.tokenCount);
      this.tokens[i] = token;
      await this.dev.writeLinear((this.firstPage + i) * 4096, token);
    }
    this.running = true;
  }

  /** Write-behind: a page's frame goes out to the disk; it comes back on a later completion. */
  private async writeBehind(): Promise<void> {
    if (this.held !== null) await this.completeChain();
    await this.takeOut();
  }

  /** Read-ahead: the frame in flight comes back, displacing pages along a chain. */
  private async readAhead(): Promise<void> {
    if (this.held === null) await this.takeOut();
    if (this.held !== null) await this.completeChain();
  }

  /** Seed 001: Xchg(present page, 0) starts a chain; the page becomes the chain's hole. */
  private async takeOut(): Promise<void> {
    const hole = this.claimRandom((i) => this.frames[i] !== 0);
    if (hole === undefined) return;
    const out = await this.xchg(hole, 0);
    if (out === 0) return this.release([hole]);
    this.held = { frame: out >>> 12, token: this.tokens[hole], hole, claims: [hole] };
    this.tokens[hole] = undefined;
    this.counters.chains += 1;
  }

  /** Puts the held frame at page after page until a call returns 0 (seed 001). */
  private async completeChain(): Promise<void> {
    for (let hops = 0; this.held !== null; hops++) {
      if (hops > HOPS_MAX * 4) {
        const frame = this.held.frame;
        this.dev.violation(
          `a chain found no hole after ${hops} hops; frame ${hex(frame)} stays held`,
          { frame },
        );
        return;
      }
      const held: Held = this.held;
      const dest = hops < HOPS_MAX ? this.claimRandom(() => true) : undefined;
      if (dest !== undefined) held.claims.push(dest);
      const page = dest ?? held.hole; // the hole is absent and ours: the chain ends there
      const previous = await this.xchg(page, held.frame * 4096);
      const displaced = this.tokens[page];
      this.tokens[page] = held.token;
      await this.verify(page, held.token);
      this.held = previous === 0 ? null : { ...held, frame: previous >>> 12, token: displaced };
      if (this.held === null) this.release(held.claims);
    }
  }

  /** Seed 001's Comments: move present pages down into the lowest holes. */
  private async compact(moves: number): Promise<void> {
    for (let m = 0; m < moves; m++) {
      const low = this.claims.claimFrom(0, (i) => this.frames[i] === 0);
      if (low === undefined) return;
      const high = this.claims.claimHighest((i) => this.frames[i] !== 0 && i > low);
      if (high === undefined) return this.release([low]);
      const out = await this.xchg(high, 0);
      const token = this.tokens[high];
      this.tokens[high] = undefined;
      const back = out === 0 ? 0 : await this.xchg(low, out);
      if (back !== 0) await this.xchg(high, back); // the record was wrong: undo the move
      if (out !== 0 && back === 0) {
        this.tokens[low] = token;
        await this.verify(low, token);
      }
      this.release([low, high]);
    }
  }

  /** Planted bug: a frame taken out with PhysAddr 0 and dropped, never put back. */
  private async plantLostFrame(): Promise<void> {
    const page = this.claimRandom((i) => this.frames[i] !== 0);
    if (page === undefined) return;
    const out = await this.xchg(page, 0);
    this.tokens[page] = undefined;
    this.release([page]);
    if (out === 0) return;
    this.planted = true;
    this.counters.plantedPage = this.firstPage + page;
    this.counters.plantedFrame = out >>> 12;
  }

  /** _XchgFreePhysReg on region page `index`; checks the result against the record. */
  private async xchg(index: number, physAddr: number): Promise<number> {
    const page = this.firstPage + index;
    const previous = await this.dev._XchgFreePhysReg(page, physAddr, 0);
    if (previous === ERROR_DWORD) {
      const reason = this.dev.lastError?.reason;
      this.dev.violation(`_XchgFreePhysReg(${hex(page)}, ${hex(physAddr)}): ${reason}`, { page });
      return 0;
    }
    if (previous >>> 12 !== this.frames[index]) {
      const expected = hex(this.frames[index]! * 4096);
      this.dev.violation(`page ${hex(page)} held ${hex(previous)}, expected ${expected}`, {
        page,
        frame: previous >>> 12,
      });
    }
    this.frames[index] = physAddr >>> 12;
    this.counters.moves += 1;
    return previous;
  }

  /** The bytes at the start of a page must be the token that travelled with its frame. */
  private async verify(index: number, token: Uint8Array | undefined): Promise<void> {
    if (token === undefined) return;
    const page = this.firstPage + index;
    const bytes = await this.dev.readLinear(page * 4096, TOKEN_BYTES);
    if (sameBytes(bytes, token)) return;
    const frame = this.frames[index]!;
    this.dev.violation(`bytes did not follow frame ${hex(frame)} to page ${hex(page)}`, {
      page,
      frame,
    });
  }

  /** The region's PTEs must match the record (pages claimed for a move are skipped). */
  private async checkRegion(): Promise<void> {
    const ptes = new Uint32Array(this.o.regionPages);
    if ((await this.dev._CopyPageTable(this.firstPage, ptes.length, ptes, 0)) === 0) return;
    ptes.forEach((pte, i) => {
      const frame = (pte & P_PRES) === 0 ? 0 : pte >>> 12;
      if (frame === this.frames[i] || this.claims.has(i)) return;
      const page = this.firstPage + i;
      const expected = hex(this.frames[i]! * 4096);
      this.dev.violation(`page ${hex(page)} maps ${hex(frame * 4096)}, expected ${expected}`, {
        page,
        frame,
      });
    });
  }

  private claimRandom(wanted: (index: number) => boolean): number | undefined {
    return this.claims.claimFrom(this.dev.random.int(this.o.regionPages), wanted);
  }

  private release(indexes: number[]): void {
    this.claims.release(indexes);
  }
}

/** The page-swap device: a factory for a scenario's device list. */
export function pageSwapDevice(options: PageSwapOptions = {}): DeviceDefinition {
  const o = pageSwapOptionsSchema.parse(options);
  return modelDevice(o, (dev) => new PageSwap(dev, o));
}
