/**
 * Micro-benchmarks (mitata), one thread: what one call of each service costs on its hot path,
 * next to the floor measured in the same run — a bare uncontended Locker acquire+release and
 * the raw Atomics compare-exchange + exchange a lock is made of. Each benchmark is a pair of
 * calls that leaves the machine as it found it, so it can repeat; setup happens before the
 * generator yields. It is not the scaling benchmark: no second thread runs here.
 */
import { do_not_optimize, measure } from 'mitata';
import { PAGEMAPGLOBAL, PageMapFreePhysReg, PG_SYS } from '../src/shared/constants.js';
import { createKernel, type Kernel } from '../src/shared/kernel.js';
import { H } from '../src/shared/layout.js';
import { lockStats } from '../src/shared/lock.js';
import { spaceLockOf, SYSTEM_VM } from '../src/shared/page_table.js';
import type { DeviceContext, VmCore } from '../src/shared/services/index.js';

export interface MicroOptions {
  quick: boolean;
}

export interface MicroRow {
  name: string;
  /** Service calls (or lock round trips) per timed iteration. */
  callsPerIteration: number;
  /** Mean nanoseconds per call, and the median and p99 of mitata's samples per call. */
  nsPerCall: number;
  nsPerCallP50: number;
  nsPerCallP99: number;
  /** Lock acquisitions one call makes (counted from the lock epochs, not assumed). */
  locksPerCall: number;
  /** Median ns per call over the median of the Locker acquire+release floor. */
  ratioToFloor: number;
  kind: 'floor' | 'service';
}

export interface MicroResult {
  /** Median ns of one Locker acquire+release. */
  floorNs: number;
  rows: MicroRow[];
}

const ERROR_DWORD = 0xffffffff;
const LFB_PHYS = 0xe0000000;

/** The machine every micro-benchmark runs on: a region, a device, a VM, a block. */
export interface Bench {
  kernel: Kernel;
  dev: DeviceContext;
  vm: VmCore;
  regionPage: number;
  blockPage: number;
}

/** The micro machine: 4,096 pages unless `ramPages` says otherwise. */
export function boot(ramPages = 4096): Bench {
  const kernel = createKernel({ ramPages, locking: 'fine' });
  const dev = kernel.device('BENCH', { initOrder: 0 });
  kernel.systemControl('Sys_Critical_Init');
  const region = dev._PageAllocate(64, PG_SYS, 0, 0, 0, 0, 0, PageMapFreePhysReg);
  if (region.eax === 0) throw new Error(`micro: no region: ${dev.lastError?.reason}`);
  kernel.systemControl('Device_Init');
  kernel.systemControl('Init_Complete');
  kernel.systemControl('Sys_VM_Init');
  const vm = kernel.vm(kernel.createVM().handle);
  const regionPage = region.eax >>> 12;
  // Every page of the region mapped but the last: the exchange pair moves page 0's frame.
  if (dev._MapFreePhysReg(regionPage, 63, 0) === 0)
    throw new Error(`micro: _MapFreePhysReg: ${dev.lastError?.reason}`);
  const block = dev._PageAllocate(16, PG_SYS, 0, 0, 0, 0, 0, 0);
  if (block.eax === 0) throw new Error(`micro: _PageAllocate: ${dev.lastError?.reason}`);
  return { kernel, dev, vm, regionPage, blockPage: block.eax >>> 12 };
}

export interface Case {
  name: string;
  callsPerIteration: number;
  kind: 'floor' | 'service';
  /** Builds the timed function; runs once outside the timer and throws if it fails. */
  make(b: Bench): () => unknown;
}

function expect(ok: boolean, what: string, b: Bench): void {
  if (!ok) throw new Error(`micro: ${what} failed: ${b.dev.lastError?.reason ?? 'wrong result'}`);
}

const rawAtomics: Case = {
  name: 'Atomics CAS + exchange (raw)',
  callsPerIteration: 1,
  kind: 'floor',
  make: () => {
    const word = new Int32Array(new SharedArrayBuffer(64));
    return () => {
      Atomics.compareExchange(word, 0, 0, 1);
      return Atomics.exchange(word, 0, 0);
    };
  },
};

const lockFloor: Case = {
  name: 'Locker acquire + release (floor)',
  callsPerIteration: 1,
  kind: 'floor',
  make: (b) => {
    const lock = spaceLockOf(b.regionPage, SYSTEM_VM);
    const locker = b.dev.locker;
    return () => {
      locker.acquire(lock);
      locker.release(lock);
    };
  },
};

export const serviceCases: Case[] = [
  {
    name: '_XchgFreePhysReg (out, back in)',
    callsPerIteration: 2,
    kind: 'service',
    make: (b) => {
      const page = b.regionPage;
      const run = (): number => b.dev._XchgFreePhysReg(page, b.dev._XchgFreePhysReg(page, 0, 0), 0);
      const held = b.dev._XchgFreePhysReg(page, 0, 0);
      expect(held !== 0 && held !== ERROR_DWORD, '_XchgFreePhysReg out', b);
      expect(b.dev._XchgFreePhysReg(page, held, 0) === 0, '_XchgFreePhysReg in', b);
      return run;
    },
  },
  {
    name: '_MapFreePhysReg + _UnmapFreePhysReg',
    callsPerIteration: 2,
    kind: 'service',
    make: (b) => {
      const page = b.regionPage + 63;
      const run = (): number =>
        b.dev._MapFreePhysReg(page, 1, 0) & b.dev._UnmapFreePhysReg(page, 1, 0);
      expect(run() !== 0, '_MapFreePhysReg/_UnmapFreePhysReg', b);
      return run;
    },
  },
  {
    name: '_LinPageLock + _LinPageUnLock',
    callsPerIteration: 2,
    kind: 'service',
    make: (b) => {
      const page = b.blockPage;
      const run = (): number => b.dev._LinPageLock(page, 1, 0) & b.dev._LinPageUnLock(page, 1, 0);
      expect(run() === 1, '_LinPageLock/_LinPageUnLock', b);
      return run;
    },
  },
  {
    name: '_LinPageLock(PAGEMAPGLOBAL) + unlock',
    callsPerIteration: 2,
    kind: 'service',
    make: (b) => {
      const page = b.blockPage + 1;
      const run = (): number => {
        const alias = b.dev._LinPageLock(page, 1, PAGEMAPGLOBAL);
        return b.dev._LinPageUnLock(alias >>> 12, 1, PAGEMAPGLOBAL);
      };
      expect(run() === 1, '_LinPageLock/_LinPageUnLock(PAGEMAPGLOBAL)', b);
      return run;
    },
  },
  {
    name: '_CopyPageTable (16 pages)',
    callsPerIteration: 1,
    kind: 'service',
    make: (b) => {
      const buffer = new Uint32Array(16);
      const run = (): number => b.dev._CopyPageTable(b.blockPage, 16, buffer, 0);
      expect(run() !== 0 && (buffer[15]! & 1) === 1, '_CopyPageTable', b);
      return run;
    },
  },
  {
    name: '_PageAllocate + _PageFree (1 page)',
    callsPerIteration: 2,
    kind: 'service',
    make: (b) => {
      const run = (): number =>
        b.dev._PageFree(b.dev._PageAllocate(1, PG_SYS, 0, 0, 0, 0, 0, 0).eax, 0);
      expect(run() !== 0, '_PageAllocate/_PageFree', b);
      return run;
    },
  },
  {
    name: '_PageLock + _PageUnLock',
    callsPerIteration: 2,
    kind: 'service',
    make: (b) => {
      const handle = b.blockPage * 4096;
      const run = (): number =>
        b.dev._PageLock(handle, 1, 2, 0) & b.dev._PageUnLock(handle, 1, 2, 0);
      expect(run() !== 0, '_PageLock/_PageUnLock', b);
      return run;
    },
  },
  {
    name: 'Int 31h 0800h + 0801h (64 KiB)',
    callsPerIteration: 2,
    kind: 'service',
    make: (b) => {
      const map = { ax: 0x0800, bx: LFB_PHYS >>> 16, cx: 0, si: 1, di: 0 };
      const run = (): number => {
        const out = b.vm.int31(map);
        return b.vm.int31({ ax: 0x0801, bx: out.bx, cx: out.cx }).cf | out.cf;
      };
      expect(run() === 0, 'Int 31h 0800h/0801h', b);
      return run;
    },
  },
  {
    name: 'Int 31h 0501h + 0502h (4 KiB)',
    callsPerIteration: 2,
    kind: 'service',
    make: (b) => {
      const run = (): number => {
        const out = b.vm.int31({ ax: 0x0501, bx: 0, cx: 0x1000 });
        return b.vm.int31({ ax: 0x0502, si: out.si, di: out.di }).cf | out.cf;
      };
      expect(run() === 0, 'Int 31h 0501h/0502h', b);
      return run;
    },
  },
  {
    name: '_PageQuery',
    callsPerIteration: 1,
    kind: 'service',
    make: (b) => {
      const mbi = new Uint32Array(7);
      const run = (): number => b.dev._PageQuery((b.blockPage + 3) * 4096, mbi, 28);
      expect(run() === 28 && mbi[1] === b.blockPage * 4096, '_PageQuery', b);
      return run;
    },
  },
  {
    name: '_GetFreePageCount',
    callsPerIteration: 1,
    kind: 'service',
    make: (b) => {
      const run = (): number => b.dev._GetFreePageCount(0).eax;
      expect(run() > 0, '_GetFreePageCount', b);
      return run;
    },
  },
];

const acquisitions = (k: Kernel): number => lockStats(k.layout).reduce((n, s) => n + s.epoch, 0);

/** Lock acquisitions per call, counted over `n` untimed iterations. */
function countLocks(b: Bench, c: Case, run: () => unknown, n: number): number {
  const before = acquisitions(b.kernel);
  for (let i = 0; i < n; i++) do_not_optimize(run());
  return (acquisitions(b.kernel) - before) / (n * c.callsPerIteration);
}

/**
 * Throws unless every timed call succeeded and the machine is sound: no refusal, checker
 * clean, as many live blocks as before (page tables made on the way are kept, by design).
 */
export function verify(b: Bench, blocksBefore: number): void {
  for (const ctx of [b.dev, b.vm]) {
    for (const [service, stats] of ctx.stats) {
      const refused = [...stats.failures.values()].reduce((n, v) => n + v, 0);
      if (refused > 0) throw new Error(`micro: ${service} refused ${refused} calls while timed`);
    }
  }
  const violations = b.kernel.check({ final: true });
  if (violations.length > 0) throw new Error(`micro: checker: ${violations[0]!.message}`);
  const blocksAfter = b.kernel.layout.header[H.blockCount]!;
  if (blocksAfter !== blocksBefore)
    throw new Error(`micro: ${blocksBefore} live blocks before, ${blocksAfter} after: a leak`);
}

/** Runs every micro-benchmark; throws if any timed path failed. */
export async function runMicro(o: MicroOptions): Promise<MicroResult> {
  const b = boot();
  const blocksBefore = b.kernel.layout.header[H.blockCount]!;
  const opts = o.quick ? { min_cpu_time: 80e6 } : { min_cpu_time: 500e6 };
  // Every case is made (and so every service called) before any is timed: in a real device
  // every service goes through the same dispatch, and a benchmark that ran one service
  // alone would let V8 specialize that dispatch to it.
  const cases = [rawAtomics, lockFloor, ...serviceCases].map((c) => ({ c, run: c.make(b) }));
  const rows: MicroRow[] = [];
  for (const { c, run } of cases) {
    const locksPerCall = c.kind === 'floor' ? (c === lockFloor ? 1 : 0) : countLocks(b, c, run, 64);
    const stats = await measure(function* () {
      yield () => do_not_optimize(run());
    }, opts);
    rows.push({
      name: c.name,
      callsPerIteration: c.callsPerIteration,
      nsPerCall: stats.avg / c.callsPerIteration,
      nsPerCallP50: stats.p50 / c.callsPerIteration,
      nsPerCallP99: stats.p99 / c.callsPerIteration,
      locksPerCall,
      ratioToFloor: 0,
      kind: c.kind,
    });
  }
  verify(b, blocksBefore);
  // Ratios of medians: a burst of other work on the machine moves a mean, not a median.
  const floorNs = rows.find((r) => r.name === lockFloor.name)!.nsPerCallP50;
  for (const row of rows) row.ratioToFloor = row.nsPerCallP50 / floorNs;
  return { floorNs, rows };
}
