// The fixed version of uncoordinated-compaction.ts: the two compactors agree. A compactor
// claims the region through one shared word (Atomics.compareExchange from 0) before it reads
// the page table, and gives it back after its exchange chain; the other one skips its step
// meanwhile. What one read is still true when it acts.
// Check it with: npx vmmsim explore scenarios/races/uncoordinated-compaction.fixed.ts --preemptions 2
import { defineDevice, defineScenario, PageMapFreePhysReg, PG_SYS } from 'vmmsim';

const REGION = 0;
const CLAIM = 1; // 0: free; else the claimant's initOrder
const PAGES = 8;

const compactor = (name: string, initOrder: number, owner: boolean) =>
  defineDevice({
    name,
    initOrder,
    create: (dev) => ({
      async control(message) {
        if (owner && message === 'Sys_Critical_Init') {
          const { eax } = await dev._PageAllocate(PAGES, PG_SYS, 0, 0, 0, 0, 0, PageMapFreePhysReg);
          dev.shared[REGION] = eax >>> 12;
        }
        return false;
      },
      async step() {
        const first = dev.shared[REGION]!;
        const scatter = first + dev.random.int(PAGES);
        if (Atomics.compareExchange(dev.shared, CLAIM, 0, initOrder) !== 0) return;
        const ptes = new Uint32Array(PAGES);
        await dev._CopyPageTable(first, PAGES, ptes, 0);
        const present = [...ptes].map((pte) => (pte & 1) === 1);
        const high = present.lastIndexOf(true);
        const hole = present.indexOf(false);
        if (hole < 0 || high < 0 || hole > high) {
          await dev._MapFreePhysReg(scatter, 1, 0); // nothing to compact: make work
        } else {
          const frame = await dev._XchgFreePhysReg(first + high, 0, 0);
          await dev._XchgFreePhysReg(first + hole, frame, 0);
        }
        Atomics.store(dev.shared, CLAIM, 0);
      },
    }),
  });

export default defineScenario({
  name: 'fixed: coordinated compaction',
  machine: {
    ramPages: 448,
    vmMax: 2,
    blockMax: 64,
    actorMax: 8,
    vmV86Pages: 2,
    frameBufferPages: 16,
  },
  budget: { calls: 2000, seconds: 10 },
  devices: [compactor('COMPACT1', 0x100, true), compactor('COMPACT2', 0x200, false)],
  vms: [],
});
