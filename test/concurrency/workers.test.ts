// Real workers on one kernel: three devices, each in its own worker thread, hammer the
// services on one SharedArrayBuffer under both locking policies, on separate regions and on
// one shared region. Afterwards the checker must be clean, every frame accounted for once,
// and every byte written through a page must read back the same.
import * as Comlink from 'comlink';
import { afterEach, describe, expect, it } from 'vitest';
import type { Worker } from 'node:worker_threads';
import {
  createKernel,
  type Kernel,
  PageMapFreePhysReg,
  PG_SYS,
  type LockingPolicy,
} from '../../src/index.js';
import { spawnWorker } from '../../src/workers/spawn.js';
import { nodeEndpoint } from '../../src/workers/endpoint.js';
import type { StressWorkerApi } from '../../src/workers/stress_worker.js';
import { readToken } from '../../src/shared/page_token.js';
import type { StressResult } from '../../src/workers/stress_workload.js';

const WORKERS = 3;
const CALLS_PER_WORKER = 9_000; // 4 runs x 3 workers x 9,000 = 108,000 calls in all
const REGION_PAGES = 64;

let live: Worker[] = [];
afterEach(async () => {
  await Promise.all(live.map((w) => w.terminate()));
  live = [];
});

function bootWithRegions(
  locking: LockingPolicy,
  regionCount: number,
): { kernel: Kernel; regions: number[] } {
  const kernel = createKernel({ ramPages: 2048, locking });
  const setup = kernel.device('SETUP', { initOrder: 0 });
  kernel.systemControl('Sys_Critical_Init');
  const regions: number[] = [];
  for (let i = 0; i < regionCount; i++) {
    const { eax } = setup._PageAllocate(REGION_PAGES, PG_SYS, 0, 0, 0, 0, 0, PageMapFreePhysReg);
    expect(eax).not.toBe(0);
    regions.push(eax >>> 12);
  }
  kernel.systemControl('Device_Init');
  kernel.systemControl('Init_Complete');
  kernel.systemControl('Sys_VM_Init');
  return { kernel, regions };
}

async function hammer(locking: LockingPolicy, shared: boolean, seed: number) {
  const { kernel, regions } = bootWithRegions(locking, shared ? 1 : WORKERS);
  const apis = Array.from({ length: WORKERS }, () => {
    const worker = spawnWorker('stress_worker', { sab: kernel.sab });
    live.push(worker);
    return Comlink.wrap<StressWorkerApi>(nodeEndpoint(worker));
  });
  const results: StressResult[] = await Promise.all(
    apis.map((api, i) =>
      api.run(
        {
          name: `DEV${i}`,
          seed: seed + i,
          calls: CALLS_PER_WORKER,
          regionFirstPage: regions[shared ? 0 : i]!,
          regionPageCount: REGION_PAGES,
          shared,
          sharers: shared ? WORKERS : 1,
        },
        i + 1,
      ),
    ),
  );
  return { kernel, regions, results };
}

/** Every present page of a shared region holds a valid token, and no token twice. */
function sharedRegionTokens(
  kernel: Kernel,
  first: number,
): { present: number; duplicates: number; invalid: number } {
  const seen = new Set<string>();
  let present = 0;
  let duplicates = 0;
  let invalid = 0;
  for (let page = first; page < first + REGION_PAGES; page++) {
    let bytes: Uint8Array;
    try {
      bytes = kernel.readLinear(null, page * 4096, 16);
    } catch {
      continue; // not present
    }
    present += 1;
    const key = readToken(bytes);
    if (key === undefined) invalid += 1;
    else if (seen.has(key)) duplicates += 1;
    else seen.add(key);
  }
  return { present, duplicates, invalid };
}

describe.each(['fine', 'global'] as const)('real workers, %s locking', (locking) => {
  it.each([
    ['separate regions', false],
    ['one shared region', true],
  ] as const)('%s: no frame lost or doubled, data follows its page', async (_title, shared) => {
    const { kernel, regions, results } = await hammer(locking, shared, 1000);
    for (const r of results) {
      expect(r.errors).toEqual([]);
      expect(r.calls).toBeGreaterThanOrEqual(CALLS_PER_WORKER);
      expect(r.byService['_XchgFreePhysReg']).toBeGreaterThan(500);
      expect(r.byService['_MapFreePhysReg']).toBeGreaterThan(100);
      expect(r.byService['_LinPageLock']).toBeGreaterThan(100);
      expect(r.byService['_PageAllocate']).toBeGreaterThan(100);
    }
    expect(kernel.check({ final: true })).toEqual([]);
    if (shared) {
      const tokens = sharedRegionTokens(kernel, regions[0]!);
      expect(tokens.present).toBeGreaterThan(0);
      expect(tokens).toMatchObject({ duplicates: 0, invalid: 0 });
    } else {
      expect(results.reduce((n, r) => n + r.dataChecks, 0)).toBeGreaterThan(1000);
    }
  });
});
