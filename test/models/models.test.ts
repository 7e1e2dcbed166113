/**
 * The built-in models, run in-process (no workers) under the seeded scheduler of
 * harness.ts: all five together stay sound, and each planted bug is caught — the page-swap
 * device's lost frame by the checker, the DMA device's early unlock by its own data check.
 */
import { describe, expect, it } from 'vitest';
import { presets, PG_SYS, P_PRES, type MachineOptions, type VmContext } from '../../src/index.js';
import { defineDevice } from '../../src/shared/scenario/scenario.js';
import {
  builtinModels,
  busMasterDmaDevice,
  cacheDevice,
  dosVm,
  modelOptionSchemas,
  pageSwapDevice,
  v86DataDevice,
} from '../../src/shared/scenario/models/index.js';
import {
  patternBytes,
  V86_WORDS,
  vmEntries,
} from '../../src/shared/scenario/models/shared_words.js';
import { Harness, type Member } from './harness.js';

const MACHINE: Partial<MachineOptions> = { ...presets.testMin };

const counters = (m: Member): Record<string, number> => m.program.counters ?? {};

/** Pages of a free physical region that are present, read through a plain device. */
function presentPages(h: Harness, firstPage: number, count: number): number {
  const probe = h.kernel.device(`PROBE${h.devices.length}`);
  const ptes = new Uint32Array(count);
  expect(probe._CopyPageTable(firstPage, count, ptes, 0)).not.toBe(0);
  return ptes.filter((pte) => (pte & P_PRES) !== 0).length;
}

async function allFive(seed: number): Promise<Harness> {
  const h = new Harness(MACHINE, seed);
  h.addDevice(v86DataDevice());
  h.addDevice(pageSwapDevice());
  h.addDevice(cacheDevice());
  h.addDevice(busMasterDmaDevice({ targetRegionFrom: 'PAGESWAP' }));
  await h.boot();
  await h.addVm(dosVm({ name: 'VM1', pressurePages: 64 }));
  await h.addVm(dosVm({ name: 'VM2', pressurePages: 64 }));
  return h;
}

describe('all five models together', () => {
  it.each([1, 2, 3])('stay sound at every checkpoint and at the end (seed %i)', async (seed) => {
    const h = await allFive(seed);
    await h.run(300, { irqPercent: 5, checkEvery: 5 });
    await h.finish();
    await h.shutdown();
    expect(h.violations).toEqual([]);
    expect(h.checkFailures).toEqual([]);
    expect(h.kernel.check({ final: true })).toEqual([]);
  });

  it('do the work they are for: exchanges, DMA into the region, pressure, instance data', async () => {
    const h = await allFive(4);
    await h.run(300, { irqPercent: 5 });
    await h.finish();
    const [swap, cache, dma, vm1, vm2] = ['PAGESWAP', 'CACHE', 'BUSDMA', 'VM1', 'VM2'].map((name) =>
      counters(h.member(name)),
    );
    expect(swap!['moves']).toBeGreaterThan(100);
    expect(dma!['regionTransfers']).toBeGreaterThan(50);
    expect(cache!['request1']).toBeGreaterThan(0); // DPMI allocations pressed on the free list
    expect(cache!['unmapped']).toBeGreaterThan(0);
    expect(vm1!['pressureRefused']! + vm2!['pressureRefused']!).toBeGreaterThan(0);
    expect(counters(h.member('V86DATA'))['vmsPublished']).toBe(2);
    expect(vm1!['instanceChecks']).toBeGreaterThan(0);
    expect(vm1!['refusalsChecked']).toBeGreaterThan(0);
    expect(h.violations).toEqual([]);
  });
});

describe('page-swap: the planted lost frame', () => {
  async function swapRun(plantLostFrame: boolean): Promise<Harness> {
    const h = new Harness(MACHINE, 11);
    h.addDevice(pageSwapDevice({ plantLostFrame }));
    h.addDevice(busMasterDmaDevice());
    await h.boot();
    await h.run(60, { irqPercent: 10, checkEvery: 3 });
    return h;
  }

  it('is reported by check({ final: true }) as a lost frame naming the frame, page and device', async () => {
    const h = await swapRun(true);
    const swap = h.member('PAGESWAP');
    const { plantedFrame, plantedPage } = counters(swap);
    expect(plantedFrame).toBeGreaterThan(0);
    expect(h.checkFailures).toEqual([]); // held by a live device: not yet lost
    await h.finish();
    const lost = h.kernel.check({ final: true }).filter((v) => v.kind === 'lost-frame');
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({
      frame: plantedFrame,
      page: plantedPage,
      actor: swap.ctx.actor,
    });
    expect(lost[0]!.message).toContain(`${plantedFrame!.toString(16).toUpperCase()}h`);
    expect(h.members.find((m) => m.ctx.actor === lost[0]!.actor)?.name).toBe('PAGESWAP');
    expect(h.violations).toEqual([]); // the device itself sees nothing wrong
  });

  it('without the plant, every frame taken out is put back by the end', async () => {
    const h = await swapRun(false);
    expect(counters(h.member('PAGESWAP'))['chains']).toBeGreaterThan(0);
    await h.finish();
    expect(h.kernel.check({ final: true })).toEqual([]);
    expect(h.violations).toEqual([]);
  });
});

describe('dma: the planted early unlock', () => {
  /** The page-swap device takes a disk completion at every safe point of the DMA device. */
  async function dmaRun(unlockEarly: boolean): Promise<Harness> {
    const h = new Harness(MACHINE, 21);
    const swap = h.addDevice(pageSwapDevice());
    const dma = h.addDevice(busMasterDmaDevice({ unlockEarly, targetRegionFrom: 'PAGESWAP' }));
    await h.boot();
    h.onSafePoint = async (m) => {
      if (m === dma) await h.interruptNow(swap);
    };
    await h.run(40, { checkEvery: 1 }, [dma]);
    await h.finish();
    return h;
  }

  it('lets the page-swap device move the pages, and the data lands in the wrong frame', async () => {
    const h = await dmaRun(true);
    const dmaViolations = h.violations.filter((v) => v.actor === 'BUSDMA');
    expect(dmaViolations.length).toBeGreaterThan(0);
    for (const v of dmaViolations) {
      expect(v.page).toBeGreaterThan(0);
      expect(v.frame).toBeGreaterThan(0);
      expect(v.message).toMatch(/moved while in use for DMA/);
    }
    expect(h.violations.filter((v) => v.actor !== 'BUSDMA')).toEqual([]);
  });

  it('locked and pinned, the same transfers all arrive and no locked page moves', async () => {
    const h = await dmaRun(false);
    expect(counters(h.member('BUSDMA'))['regionTransfers']).toBeGreaterThan(10);
    expect(counters(h.member('PAGESWAP'))['moves']).toBeGreaterThan(10);
    expect(h.violations).toEqual([]);
    expect(h.checkFailures).toEqual([]);
    expect(h.kernel.check({ final: true })).toEqual([]);
  });
});

describe('cache', () => {
  /** A device that holds all but two free pages through init, then frees and retakes them. */
  function hog(h: Harness): Member {
    let handle = 0;
    return h.addDevice(
      defineDevice({
        name: 'HOG',
        initOrder: 0x100,
        create: (dev) => ({
          async control(message) {
            if (message !== 'Device_Init') return;
            const free = (await dev._GetFreePageCount(0)).eax;
            handle = (await dev._PageAllocate(free - 2, PG_SYS, 0, 0, 0, 0, 0, 0)).eax;
          },
          async step() {
            if (handle !== 0) {
              await dev._PageFree(handle, 0);
              handle = 0;
              return;
            }
            const free = (await dev._GetFreePageCount(0)).eax;
            handle = (await dev._PageAllocate(free, PG_SYS, 0, 0, 0, 0, 0, 0)).eax;
          },
        }),
      }),
    );
  }

  it('short of its fixed minimum maps what it can, completes it later, and never gives it back', async () => {
    const h = new Harness(MACHINE, 31);
    const greedy = hog(h);
    const cache = h.addDevice(cacheDevice({ regionPages: 16, fixedMinimum: 4 }));
    await h.boot();
    const first = (cache.program as unknown as { regionFirstPage: number }).regionFirstPage;
    expect(counters(cache)['short']).toBe(1);
    expect(presentPages(h, first, 16)).toBe(2);
    await h.run(1, {}, [greedy]); // frees: Request 0 lets the cache finish its minimum and grow
    await h.drain();
    expect(presentPages(h, first, 16)).toBe(16);
    await h.run(1, {}, [greedy]); // takes every free page
    const { id } = h.kernel.callbackOwners().find((o) => o.actor === cache.ctx.actor)!;
    const request1 = async (count: number): Promise<boolean> => {
      let carry = false;
      await h.drive([h.kernel.runCallback(id, 1, count).then((c) => (carry = c))]);
      return carry;
    };
    expect(await request1(5)).toBe(true); // fully handled: carry
    expect(presentPages(h, first, 16)).toBe(11);
    expect(await request1(100)).toBe(false); // 7 non-fixed pages are not 100: no carry
    expect(presentPages(h, first, 16)).toBe(4); // the fixed minimum stays
    expect(await request1(1)).toBe(false);
    expect(presentPages(h, first, 16)).toBe(4);
    await h.finish();
    expect(h.violations).toEqual([]);
    expect(h.kernel.check({ final: true })).toEqual([]);
  });
});

describe('v86-data and the DOS VMs', () => {
  async function v86Run(): Promise<Harness> {
    const h = new Harness(MACHINE, 41);
    h.addDevice(v86DataDevice());
    await h.boot();
    await h.addVm(dosVm({ name: 'VM1', pressurePages: 0 }));
    await h.addVm(dosVm({ name: 'VM2', pressurePages: 0 }));
    await h.run(150);
    return h;
  }

  it('every VM sees its own instance bytes, the same global bytes, and the system VM its own', async () => {
    const h = await v86Run();
    expect(h.violations).toEqual([]);
    expect(counters(h.member('V86DATA'))['probes']).toBeGreaterThan(15);
    // Acting for each new VM at VM_Init (dev.inVM): the snapshot and the shared global block.
    expect(counters(h.member('V86DATA'))['vmCopiesChecked']).toBe(2);
    const shared = h.kernel.layout.scenarioWords;
    const address = shared[V86_WORDS.base + V86_WORDS.instanceAddress]!;
    const entries = vmEntries(shared);
    expect(entries.map((e) => e.state)).toEqual([V86_WORDS.APPLIED, V86_WORDS.APPLIED]);
    const seen = h.vms.map((vm) => h.kernel.readLinear(vm.ctx as VmContext, address, 64));
    const seeds = h.vms.map(
      (vm) => entries.find((e) => e.handle === (vm.ctx as VmContext).handle)!.seed,
    );
    expect(seen[0]).toEqual(patternBytes(seeds[0]!, 64));
    expect(seen[1]).toEqual(patternBytes(seeds[1]!, 64));
    expect(seen[0]).not.toEqual(seen[1]);
    const initSeed = shared[V86_WORDS.base + V86_WORDS.initSeed]!;
    expect(h.kernel.readLinear(null, address, 64)).toEqual(patternBytes(initSeed, 64));
    await h.finish();
    expect(h.kernel.check({ final: true })).toEqual([]);
  });

  it("a VM reports another VM's instance bytes showing through in its own", async () => {
    const h = await v86Run();
    const [vm1, vm2] = h.vms.map((vm) => vm.ctx as VmContext);
    const shared = h.kernel.layout.scenarioWords;
    const address = shared[V86_WORDS.base + V86_WORDS.instanceAddress]!;
    const seed2 = vmEntries(shared).find((e) => e.handle === vm2!.handle)!.seed;
    h.kernel.writeLinear(vm1!, address, patternBytes(seed2, 64));
    await h.run(60, {}, [h.vms[0]!]);
    const found = h.violations.filter((v) => v.actor === vm1!.name);
    expect(found.length).toBeGreaterThan(0);
    expect(found[0]!.message).toContain(`VM ${vm2!.handle.toString(16).toUpperCase()}h's bytes`);
  });
});

describe('builtinModels and modelOptionSchemas', () => {
  const names = ['cache', 'page-swap', 'dma', 'v86-data', 'dos-vm'];

  it('name the five models, each with a schema', () => {
    expect(Object.keys(builtinModels).sort()).toEqual([...names].sort());
    expect(Object.keys(modelOptionSchemas).sort()).toEqual([...names].sort());
  });

  it.each(names)('%s: unknown option keys are rejected', (name) => {
    expect(modelOptionSchemas[name]!.safeParse({ bogus: 1 }).success).toBe(false);
    expect(() => builtinModels[name]!({ bogus: 1 })).toThrow(/bogus/);
  });

  it('fill in the defaults', () => {
    expect(modelOptionSchemas['cache']!.parse({})).toMatchObject({
      regionPages: 32,
      fixedMinimum: 4,
    });
    expect(modelOptionSchemas['page-swap']!.parse({})).toMatchObject({
      regionPages: 32,
      plantLostFrame: false,
    });
    expect(modelOptionSchemas['dma']!.parse({})).toMatchObject({
      bufferPages: 3,
      unlockEarly: false,
    });
    expect(modelOptionSchemas['dos-vm']!.parse({})).toMatchObject({ pressurePages: 24 });
  });

  it('check values: a fixed minimum larger than the region, a negative page count', () => {
    expect(
      modelOptionSchemas['cache']!.safeParse({ regionPages: 4, fixedMinimum: 5 }).success,
    ).toBe(false);
    expect(modelOptionSchemas['dma']!.safeParse({ bufferPages: -1 }).success).toBe(false);
  });

  it('make devices and VMs as the scenario loader calls them', () => {
    const cache = builtinModels['cache']!({ name: 'DEV0', initOrder: undefined });
    expect(cache).toMatchObject({ kind: 'device', name: 'DEV0', initOrder: 0x30000000 });
    expect(builtinModels['page-swap']!({})).toMatchObject({
      kind: 'device',
      initOrder: 0x1c000000,
    });
    expect(builtinModels['dos-vm']!({ name: 'VM1' })).toMatchObject({ kind: 'vm', name: 'VM1' });
  });
});
