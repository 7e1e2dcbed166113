// A planted race: two devices compact one free physical region without agreeing. Each
// reads the page table, picks the highest present page and the lowest hole below it, and
// moves the frame down with the seed 001 chain: Xchg(high, 0), then Xchg(hole, frame),
// expecting 0. When the other compactor moves the same page first, the first call returns
// 0 or another frame and the second makes a present page not present — its frame is lost.
import { defineDevice, defineScenario, PageMapFreePhysReg, PG_SYS } from 'vmmsim';

const REGION = 0;
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
        const ptes = new Uint32Array(PAGES);
        await dev._CopyPageTable(first, PAGES, ptes, 0);
        const present = [...ptes].map((pte) => (pte & 1) === 1);
        const high = present.lastIndexOf(true);
        const hole = present.indexOf(false);
        if (hole < 0 || high < 0 || hole > high) {
          // Nothing to compact: scatter a page to make work (map one anywhere).
          await dev._MapFreePhysReg(first + dev.random.int(PAGES), 1, 0);
          return;
        }
        const frame = await dev._XchgFreePhysReg(first + high, 0, 0);
        await dev._XchgFreePhysReg(first + hole, frame, 0); // BUG: assumes nobody else moved
      },
    }),
  });

export default defineScenario({
  name: 'race: uncoordinated compaction',
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
