/**
 * Built-in device model "dma" (seed 002): a bus-master DMA device doing transfers by the DDK
 * recipe: lock the pages, _CopyPageTable for their physical addresses, program the hardware,
 * and when the I/O has completed, check through the linear pages that the bytes arrived and
 * unlock. A transfer takes time: it is started in one step and completes in the device's
 * next step (or its finish), so other actors run, on other threads, while it is in flight.
 * Its buffer is its own PG_SYS block or pages of a page-swap device's region, pinned in the
 * shared words (shared_words.ts). Planted bug (unlockEarly): it unlocks right after
 * _CopyPageTable, before the transfer has run.
 */
import { z } from 'zod';
import { type ControlMessageName, PG_SYS, P_PRES } from '../../constants.js';
import { PageFaultError } from '../../memory_access.js';
import { type DeviceActor, type DeviceDefinition, type DeviceProgram } from '../scenario.js';
import { modelDevice } from './model.js';
import {
  findSwapRegion,
  hex,
  pinPage,
  sameBytes,
  SWAP_WORDS,
  type SwapRegion,
  unpinPage,
} from './shared_words.js';

export const dmaOptionsSchema = z.strictObject({
  name: z.string().min(1).max(8).default('BUSDMA'),
  initOrder: z.number().int().min(0).max(0xffffffff).default(0x38000000),
  bufferPages: z.number().int().min(1).max(16).default(3),
  unlockEarly: z.boolean().default(false),
  /** The page-swap device whose region to use; any published region when left out. */
  targetRegionFrom: z.string().min(1).max(8).optional(),
});
export type DmaOptions = z.input<typeof dmaOptionsSchema>;
type DmaConfig = z.output<typeof dmaOptionsSchema>;

/** Safe points between the data landing and its check. */
const SAFE_POINTS_AFTER = 2;

/** The pages of one transfer, and the pin words it holds (region buffers only). */
interface DmaBuffer {
  firstPage: number;
  pages: number;
  pinWords: number[];
}

/** A transfer the hardware is doing: it completes at the device's next step. */
interface Transfer {
  buffer: DmaBuffer;
  ptes: Uint32Array;
  inRegion: boolean;
}

class BusMasterDma implements DeviceProgram {
  readonly counters = { transfers: 0, regionTransfers: 0, pinRefused: 0, lockRefused: 0 };
  private ownAddress = 0;
  private region: SwapRegion | undefined;
  private payloadCount = 0;
  private inFlight: Transfer | undefined;

  constructor(
    private readonly dev: DeviceActor,
    private readonly o: DmaConfig,
  ) {}

  async control(message: ControlMessageName): Promise<boolean> {
    if (message !== 'Device_Init') return false;
    const { eax } = await this.dev._PageAllocate(this.o.bufferPages, PG_SYS, 0, 0, 0, 0, 0, 0);
    this.ownAddress = eax;
    return eax === 0; // no buffer: the device fails to load
  }

  /** Completes the transfer in flight, then starts one into a buffer of its own or the region's. */
  async step(): Promise<void> {
    if (this.ownAddress === 0) return;
    if (this.inFlight !== undefined) await this.complete(this.inFlight);
    const buffer = (await this.regionBuffer()) ?? {
      firstPage: this.ownAddress >>> 12,
      pages: this.o.bufferPages,
      pinWords: [],
    };
    await this.start(buffer);
  }

  /** The end: the transfer in flight completes (its pages unlocked), the buffer is freed. */
  async finish(): Promise<void> {
    if (this.ownAddress === 0) return;
    if (this.inFlight !== undefined) await this.complete(this.inFlight);
    if ((await this.dev._PageFree(this.ownAddress, 0)) === 0)
      this.dev.violation(`_PageFree of the DMA buffer: ${this.dev.lastError?.reason}`);
    this.ownAddress = 0;
  }

  /** Seed 002 steps 1-3: lock, copy the page table, program the hardware with its addresses. */
  private async start(buffer: DmaBuffer): Promise<void> {
    const { firstPage, pages } = buffer;
    const inRegion = buffer.pinWords.length > 0;
    if ((await this.dev._LinPageLock(firstPage, pages, 0)) === 0) {
      this.unpin(buffer); // a region page left before it was pinned: another time
      if (!inRegion)
        this.dev.violation(`_LinPageLock of the DMA buffer: ${this.dev.lastError?.reason}`);
      else this.counters.lockRefused += 1;
      return;
    }
    const ptes = new Uint32Array(pages); // exactly nPages entries (seed 002's own overruns)
    if ((await this.dev._CopyPageTable(firstPage, pages, ptes, 0)) === 0) {
      this.dev.violation(`_CopyPageTable of locked pages: ${this.dev.lastError?.reason}`);
      return this.unlock(buffer);
    }
    const absent = ptes.findIndex((pte) => (pte & P_PRES) === 0);
    if (absent >= 0) {
      const page = firstPage + absent;
      const what = `locked page ${hex(page)} is not present: no address to program`;
      this.dev.violation(what, { page });
      return this.unlock(buffer);
    }
    if (this.o.unlockEarly) await this.unlock(buffer); // planted: the addresses go stale
    await this.dev.Get_VMM_Reenter_Count(); // programmed: the transfer runs from now on
    this.inFlight = { buffer, ptes, inRegion };
  }

  /** The hardware is done: the bytes land at the programmed addresses; step 4, unlock. */
  private async complete(transfer: Transfer): Promise<void> {
    this.inFlight = undefined;
    const { buffer, ptes } = transfer;
    const payloads = Array.from({ length: buffer.pages }, () => this.payload());
    payloads.forEach((bytes, i) => {
      const physical = (ptes[i]! & ~0xfff) >>> 0;
      this.dev.writePhysical(physical + SWAP_WORDS.dataOffset, bytes);
    });
    for (let i = 0; i < SAFE_POINTS_AFTER; i++) await this.dev.Get_VMM_Reenter_Count();
    await this.verify(buffer, ptes, payloads);
    if (!this.o.unlockEarly) await this.unlock(buffer);
    this.counters.transfers += 1;
    if (transfer.inRegion) this.counters.regionTransfers += 1;
  }

  /** The bytes the hardware wrote must be in the linear pages the transfer was for. */
  private async verify(
    buffer: DmaBuffer,
    ptes: Uint32Array,
    payloads: Uint8Array[],
  ): Promise<void> {
    for (let i = 0; i < buffer.pages; i++) {
      const page = buffer.firstPage + i;
      const frame = ptes[i]! >>> 12;
      const address = page * 4096 + SWAP_WORDS.dataOffset;
      let bytes: Uint8Array;
      try {
        bytes = await this.dev.readLinear(address, SWAP_WORDS.dataBytes);
      } catch (error) {
        if (!(error instanceof PageFaultError)) throw error;
        const what = `page ${hex(page)} is gone after a transfer to frame ${hex(frame)}`;
        this.dev.violation(`${what}: it moved while in use for DMA`, { page, frame });
        continue;
      }
      if (sameBytes(bytes, payloads[i]!)) continue;
      const what = `DMA data written to frame ${hex(frame)} did not arrive in page ${hex(page)}`;
      this.dev.violation(`${what}: the page moved while in use for DMA`, { page, frame });
    }
  }

  private async unlock(buffer: DmaBuffer): Promise<void> {
    if ((await this.dev._LinPageUnLock(buffer.firstPage, buffer.pages, 0)) === 0)
      this.dev.violation(`_LinPageUnLock: ${this.dev.lastError?.reason}`, {
        page: buffer.firstPage,
      });
    this.unpin(buffer);
  }

  private unpin(buffer: DmaBuffer): void {
    for (const word of buffer.pinWords) unpinPage(this.dev.shared, word);
    buffer.pinWords = [];
  }

  /**
   * Two transfers in three go to the page-swap device's region when it has published one:
   * a random run of present pages, each pinned so that the pager leaves it alone.
   */
  private async regionBuffer(): Promise<DmaBuffer | undefined> {
    this.region ??= findSwapRegion(this.dev.shared, this.o.targetRegionFrom);
    const region = this.region;
    if (region === undefined || !this.dev.random.chance(2, 3)) return undefined;
    const pages = Math.min(this.o.bufferPages, region.pageCount);
    const ptes = new Uint32Array(region.pageCount);
    if ((await this.dev._CopyPageTable(region.firstPage, region.pageCount, ptes, 0)) === 0)
      return undefined;
    const starts: number[] = [];
    for (let s = 0; s + pages <= region.pageCount; s++) {
      if (ptes.subarray(s, s + pages).every((pte) => (pte & P_PRES) !== 0)) starts.push(s);
    }
    if (starts.length === 0) return undefined;
    const start = this.dev.random.pick(starts);
    const buffer: DmaBuffer = { firstPage: region.firstPage + start, pages, pinWords: [] };
    for (let i = 0; i < pages; i++) {
      const word = region.pinBase + start + i;
      if (!pinPage(this.dev.shared, word)) {
        this.counters.pinRefused += 1;
        this.unpin(buffer);
        return undefined;
      }
      buffer.pinWords.push(word);
    }
    return buffer;
  }

  private payload(): Uint8Array {
    this.payloadCount += 1;
    const words = new Uint32Array(SWAP_WORDS.dataBytes / 4);
    for (let i = 0; i < words.length; i++) words[i] = this.dev.random.nextU32();
    words[0] = this.payloadCount;
    return new Uint8Array(words.buffer);
  }
}

/** The bus-master DMA device: a factory for a scenario's device list. */
export function busMasterDmaDevice(options: DmaOptions = {}): DeviceDefinition {
  const o = dmaOptionsSchema.parse(options);
  return modelDevice(o, (dev) => new BusMasterDma(dev, o));
}
