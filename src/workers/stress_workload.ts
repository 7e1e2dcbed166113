/**
 * A device's stress workload on an attached kernel: _XchgFreePhysReg chains,
 * _MapFreePhysReg/_UnmapFreePhysReg, _LinPageLock/_CopyPageTable/_LinPageUnLock and
 * _PageAllocate/_PageFree, checking as it goes that data follows its page. Runs the same in
 * a worker (stress_worker.ts) and in-process. It is not a scenario model: issue-level
 * scenarios live in the runtime.
 */
import { PG_SYS } from '../shared/constants.js';
import { PageFaultError } from '../shared/memory_access.js';
import type { Kernel } from '../shared/kernel.js';
import { Prng } from '../shared/prng.js';
import { makeToken, readToken, sameBytes, TOKEN_BYTES } from '../shared/page_token.js';
import type { DeviceContext } from '../shared/services/index.js';
import type { StressPlan, StressResult } from '../shared/protocol.js';
export type { StressPlan, StressResult };

interface Block {
  address: number;
  pages: number;
  tokens: Uint8Array[];
}

class Workload {
  private readonly prng: Prng;
  private readonly tokens = new Map<number, Uint8Array>(); // region page → token (own region)
  private readonly blocks: Block[] = [];
  private counter = 0;
  dataChecks = 0;
  readonly errors: string[] = [];

  constructor(
    private readonly kernel: Kernel,
    private readonly dev: DeviceContext,
    private readonly plan: StressPlan,
    private readonly writer: number,
  ) {
    this.prng = new Prng(plan.seed);
  }

  calls(): number {
    return this.dev.callTotal;
  }

  step(): void {
    const roll = this.prng.int(100);
    if (roll < 40) this.chain();
    else if (roll < 60) this.mapOrUnmap();
    else if (roll < 80) this.lockCopyUnlock();
    else this.allocOrFree();
  }

  private page(): number {
    return this.plan.regionFirstPage + this.prng.int(this.plan.regionPageCount);
  }

  private fail(message: string): void {
    if (this.errors.length < 20) this.errors.push(`${this.plan.name}: ${message}`);
  }

  private newToken(): Uint8Array {
    this.counter += 1;
    return makeToken(this.writer, this.counter);
  }

  private expectPage(page: number, token: Uint8Array | undefined): void {
    if (token === undefined || this.plan.shared) return;
    const bytes = this.kernel.readLinear(null, page * 4096, TOKEN_BYTES);
    this.dataChecks += 1;
    if (!sameBytes(bytes, token)) this.fail(`page ${page.toString(16)}h lost its data`);
  }

  /** Takes a present page out and moves frames along until a call returns 0 (seed 001). */
  private chain(): void {
    const from = this.page();
    let held = this.dev._XchgFreePhysReg(from, 0, 0);
    if (held === 0xffffffff)
      return this.fail(
        `_XchgFreePhysReg(${from.toString(16)}h, 0) failed: ${this.dev.lastError?.reason}`,
      );
    this.repairHeld(held);
    let token = this.tokens.get(from);
    this.tokens.delete(from);
    const tries = this.plan.regionPageCount * 8;
    for (let i = 0; held !== 0; i++) {
      const to =
        i < tries ? this.page() : this.plan.regionFirstPage + (i % this.plan.regionPageCount);
      if (i > tries * 2) return this.fail(`chain could not place frame ${held.toString(16)}h`);
      const previous = this.dev._XchgFreePhysReg(to, held, 0);
      if (previous === 0xffffffff)
        return this.fail(`_XchgFreePhysReg failed: ${this.dev.lastError?.reason}`);
      const displaced = this.tokens.get(to);
      if (token !== undefined) this.tokens.set(to, token);
      else this.tokens.delete(to);
      this.expectPage(to, token);
      token = displaced;
      held = previous;
      this.repairHeld(held);
    }
  }

  /**
   * Shared region: a frame we hold is ours alone, so a frame whose mapper lost the race to
   * write its token (another device took the page out first) gets one here. At the end
   * every present page must then hold a valid token, and no token twice.
   */
  private repairHeld(frame: number): void {
    if (!this.plan.shared || frame === 0) return;
    if (readToken(this.kernel.readPhysical(frame, TOKEN_BYTES)) === undefined) {
      this.kernel.writePhysical(frame, this.newToken());
    }
  }

  private presentMap(): Uint32Array {
    const ptes = new Uint32Array(this.plan.regionPageCount);
    this.dev._CopyPageTable(this.plan.regionFirstPage, this.plan.regionPageCount, ptes, 0);
    return ptes;
  }

  private mapOrUnmap(): void {
    const ptes = this.presentMap();
    const absent = ptes.filter((pte) => (pte & 1) === 0).length;
    const room = absent - 2 * this.plan.sharers - 2;
    const index = this.prng.int(this.plan.regionPageCount);
    const page = this.plan.regionFirstPage + index;
    if ((ptes[index]! & 1) === 0) {
      if (room <= 0) return;
      if (this.dev._MapFreePhysReg(page, 1, 0) === 0) return; // raced, or no free pages: allowed
      const token = this.newToken();
      try {
        this.kernel.writeLinear(null, page * 4096, token);
      } catch (error) {
        // Shared region only: another device took the page out first; it repairs the frame.
        if (!(error instanceof PageFaultError) || !this.plan.shared) throw error;
        return;
      }
      this.tokens.set(page, token);
      return;
    }
    this.expectPage(page, this.tokens.get(page));
    if (this.dev._UnmapFreePhysReg(page, 1, 0) !== 0) this.tokens.delete(page);
  }

  /** Seed 002: lock, copy the page table, use the physical addresses, unlock. */
  private lockCopyUnlock(): void {
    const block = this.blocks[this.prng.int(Math.max(this.blocks.length, 1))];
    if (block === undefined) return this.allocOrFree();
    const first = block.address >>> 12;
    if (this.dev._LinPageLock(first, block.pages, 0) === 0)
      return this.fail(`_LinPageLock: ${this.dev.lastError?.reason}`);
    const ptes = new Uint32Array(block.pages);
    if (this.dev._CopyPageTable(first, block.pages, ptes, 0) === 0)
      this.fail(`_CopyPageTable: ${this.dev.lastError?.reason}`);
    for (let i = 0; i < block.pages; i++) {
      const bytes = this.kernel.readPhysical((ptes[i]! & ~0xfff) >>> 0, TOKEN_BYTES);
      this.dataChecks += 1;
      if (!sameBytes(bytes, block.tokens[i]!))
        this.fail(`locked page ${(first + i).toString(16)}h: wrong bytes at its frame`);
    }
    if (this.dev._LinPageUnLock(first, block.pages, 0) === 0)
      this.fail(`_LinPageUnLock: ${this.dev.lastError?.reason}`);
  }

  private allocOrFree(): void {
    if (this.blocks.length >= 6 || (this.blocks.length > 0 && this.prng.chance(1, 2))) {
      const [block] = this.blocks.splice(this.prng.int(this.blocks.length), 1);
      for (let i = 0; i < block!.pages; i++) this.expectBlockPage(block!, i);
      if (this.dev._PageFree(block!.address, 0) === 0)
        this.fail(`_PageFree: ${this.dev.lastError?.reason}`);
      return;
    }
    const pages = this.prng.range(1, 3);
    const { eax } = this.dev._PageAllocate(pages, PG_SYS, 0, 0, 0, 0, 0, 0);
    if (eax === 0) return; // out of memory is a DDK outcome, not an error
    const block: Block = { address: eax, pages, tokens: [] };
    for (let i = 0; i < pages; i++) {
      const token = this.newToken();
      this.kernel.writeLinear(null, eax + i * 4096, token);
      block.tokens.push(token);
    }
    this.blocks.push(block);
  }

  private expectBlockPage(block: Block, i: number): void {
    const bytes = this.kernel.readLinear(null, block.address + i * 4096, TOKEN_BYTES);
    this.dataChecks += 1;
    if (!sameBytes(bytes, block.tokens[i]!))
      this.fail(`block page ${i} at ${block.address.toString(16)}h lost its data`);
  }

  /** Verifies what is still this device's at the end. */
  finish(): void {
    for (const block of this.blocks)
      for (let i = 0; i < block.pages; i++) this.expectBlockPage(block, i);
    for (const [page, token] of this.tokens) this.expectPage(page, token);
  }
}

/** Runs one device's workload on `kernel` until `plan.calls` service calls were made. */
export function runStress(kernel: Kernel, plan: StressPlan, writer: number): StressResult {
  const dev = kernel.device(plan.name);
  const workload = new Workload(kernel, dev, plan, writer);
  const start = performance.now();
  while (workload.calls() < plan.calls && workload.errors.length === 0) workload.step();
  workload.finish();
  const byService: Record<string, number> = {};
  const failures: Record<string, number> = {};
  for (const [service, stats] of dev.stats) {
    byService[service] = stats.calls;
    for (const [reason, count] of stats.failures) failures[`${service}: ${reason}`] = count;
  }
  return {
    name: plan.name,
    calls: workload.calls(),
    byService,
    failures,
    dataChecks: workload.dataChecks,
    errors: workload.errors,
    elapsedMs: performance.now() - start,
  };
}
