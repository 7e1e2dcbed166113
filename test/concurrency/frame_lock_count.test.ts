// A frame reachable from two pages (a page and its _LinPageLock(PAGEMAPGLOBAL) alias, in
// different page tables) is locked under either page's space lock, so two threads can lock
// and unlock it at the same moment holding different locks. Its lock count must lose no
// update: each thread's locks and unlocks balance, and the alias's own lock stays.
import * as Comlink from 'comlink';
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { createKernel, PAGEMAPGLOBAL, PageFixed, PG_SYS, PR_SYSTEM } from '../../src/index.js';
import { check } from '../../src/shared/checker.js';
import { frameLockCount } from '../../src/shared/frames.js';
import { pteAt, pteIndex, spaceLockOf, SYSTEM_VM } from '../../src/shared/page_table.js';
import { pteFrame } from '../../src/shared/pte.js';
import { nodeEndpoint } from '../../src/workers/endpoint.js';
import { spawnWorker } from '../../src/workers/spawn.js';
import type { LockProbeApi } from '../fixtures/lock_probe_worker.js';

let live: Worker[] = [];
afterEach(async () => {
  await Promise.all(live.map((w) => w.terminate()));
  live = [];
});

const TIMES = 20_000;

describe('frame lock counts between threads', () => {
  it('a page and its global alias, locked at once by two threads, lose no count', async () => {
    const kernel = createKernel({ ramPages: 1024 });
    const setup = kernel.device('SETUP', { initOrder: 0 });
    for (const m of ['Sys_Critical_Init', 'Device_Init', 'Init_Complete', 'Sys_VM_Init'] as const)
      kernel.systemControl(m);
    const page = setup._PageAllocate(1, PG_SYS, 0, 0, 0, 0, 0, PageFixed).eax >>> 12;
    expect(page).not.toBe(0);
    // A page table's worth of reserved pages between them: the alias lies in another table.
    expect(setup._PageReserve(PR_SYSTEM, 1024, 0)).not.toBe(0xffffffff);
    const alias = setup._LinPageLock(page, 1, PAGEMAPGLOBAL) >>> 12;
    expect(alias).not.toBe(0);
    expect(spaceLockOf(alias, SYSTEM_VM)).not.toBe(spaceLockOf(page, SYSTEM_VM));
    const l = kernel.layout;
    const frame = pteFrame(pteAt(l, pteIndex(l, SYSTEM_VM, page)));
    expect(pteFrame(pteAt(l, pteIndex(l, SYSTEM_VM, alias)))).toBe(frame);
    expect(frameLockCount(l, frame)).toBe(1); // the alias's own lock

    const probes = ['VIAPAGE', 'VIAALIAS'].map((name) => {
      const worker = spawnWorker(new URL('../fixtures/lock_probe_worker.js', import.meta.url), {
        sab: kernel.sab,
        name,
      });
      live.push(worker);
      return Comlink.wrap<LockProbeApi>(nodeEndpoint(worker));
    });
    const refused = await Promise.all([
      probes[0]!.lockUnlock(page, TIMES, 2),
      probes[1]!.lockUnlock(alias, TIMES, 2),
    ]);

    expect(refused).toEqual([0, 0]);
    expect(frameLockCount(l, frame)).toBe(1);
    expect(setup._LinPageUnLock(alias, 1, PAGEMAPGLOBAL)).toBe(1);
    expect(frameLockCount(l, frame)).toBe(0);
    expect(check(l, { final: true })).toEqual([]);
  }, 60_000);
});
