/**
 * The complexity table (mitata, one thread): each service of the micro table timed on three
 * machines — the micro machine as booted, the same with 2,000 more live blocks, and one with
 * 16 times the RAM — as the median ns per call and its ratio to the first. A service whose
 * cost grew with the block table, the bitmap or the frame count shows here as a ratio above 1.
 * It is not the micro table: no floor, no lock counts; the same checks that each timed call
 * succeeded and left the machine sound.
 */
import { do_not_optimize, measure } from 'mitata';
import { PG_SYS, PR_SYSTEM } from '../src/shared/constants.js';
import { H } from '../src/shared/layout.js';
import { type Bench, boot, serviceCases, verify } from './micro.js';

export interface ComplexityRow {
  name: string;
  /** Median ns per call on the booted micro machine (4,096 pages). */
  emptyNs: number;
  /** The same machine with LIVE_BLOCKS more live blocks, and its ratio to emptyNs. */
  blocksNs: number;
  blocksRatio: number;
  /** A machine with 16× the pages (65,536: 256 MiB), and its ratio to emptyNs. */
  bigRamNs: number;
  bigRamRatio: number;
}

export const LIVE_BLOCKS = 2000;

/**
 * Adds LIVE_BLOCKS live blocks of three kinds: one-page system allocations, 4 KiB DPMI blocks
 * of the VM, and system reservations without frames. Throws if any is refused.
 */
function populate(b: Bench): void {
  const before = b.kernel.layout.header[H.blockCount]!;
  for (let i = 0; i < LIVE_BLOCKS; i++) {
    let ok: boolean;
    if (i % 5 < 2) ok = b.dev._PageAllocate(1, PG_SYS, 0, 0, 0, 0, 0, 0).eax !== 0;
    else if (i % 5 < 4) ok = b.vm.int31({ ax: 0x0501, bx: 0, cx: 0x1000 }).cf === 0;
    else ok = b.dev._PageReserve(PR_SYSTEM, 4, 0) !== 0xffffffff;
    if (!ok) throw new Error(`complexity: live block ${i} refused: ${b.dev.lastError?.reason}`);
  }
  const after = b.kernel.layout.header[H.blockCount]!;
  if (after - before !== LIVE_BLOCKS)
    throw new Error(`complexity: ${after - before} blocks made, not ${LIVE_BLOCKS}`);
}

/** Median ns per call of every service case on `b`, verified afterwards. */
async function medians(b: Bench, quick: boolean): Promise<number[]> {
  const blocksBefore = b.kernel.layout.header[H.blockCount]!;
  const opts = { min_cpu_time: quick ? 40e6 : 200e6 };
  const runs = serviceCases.map((c) => ({ c, run: c.make(b) }));
  const out: number[] = [];
  for (const { c, run } of runs) {
    const stats = await measure(function* () {
      yield () => do_not_optimize(run());
    }, opts);
    out.push(stats.p50 / c.callsPerIteration);
  }
  verify(b, blocksBefore);
  return out;
}

/** Runs the three machines; throws if any timed path failed. */
export async function runComplexity(o: { quick: boolean }): Promise<ComplexityRow[]> {
  const empty = await medians(boot(), o.quick);
  const full = boot();
  populate(full);
  const blocks = await medians(full, o.quick);
  const bigRam = await medians(boot(4096 * 16), o.quick);
  return serviceCases.map((c, i) => ({
    name: c.name,
    emptyNs: empty[i]!,
    blocksNs: blocks[i]!,
    blocksRatio: blocks[i]! / empty[i]!,
    bigRamNs: bigRam[i]!,
    bigRamRatio: bigRam[i]! / empty[i]!,
  }));
}
