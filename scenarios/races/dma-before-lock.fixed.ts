// The fixed version of dma-before-lock.ts. The two devices agree through one shared word,
// CLAIM: a device that wants to move or pin a page of the region first claims the region
// (Atomics.compareExchange from 0), and gives it back when done; the DMA device also locks
// the buffer before it reads the page table (seed 002: lock first). No page moves between
// the DMA device's look at the PTE and its transfer.
// Check it with: npx vmmsim explore scenarios/races/dma-before-lock.fixed.ts --preemptions 2
import { defineDevice, defineScenario, PageMapFreePhysReg, PG_SYS } from 'vmmsim';

const REGION = 0;
const CLAIM = 1; // 0: free; else the claimant's initOrder
const PAGES = 6;

const mover = defineDevice({
  name: 'MOVER',
  initOrder: 0x100,
  create: (dev) => ({
    async control(message) {
      if (message === 'Sys_Critical_Init') {
        const { eax } = await dev._PageAllocate(PAGES, PG_SYS, 0, 0, 0, 0, 0, PageMapFreePhysReg);
        dev.shared[REGION] = eax >>> 12;
      }
      if (message === 'Init_Complete') await dev._MapFreePhysReg(dev.shared[REGION]!, PAGES - 1, 0);
      return false;
    },
    async step() {
      const first = dev.shared[REGION]!;
      const from = dev.random.int(PAGES);
      if (Atomics.compareExchange(dev.shared, CLAIM, 0, 0x100) !== 0) return;
      const ptes = new Uint32Array(PAGES);
      await dev._CopyPageTable(first, PAGES, ptes, 0);
      const hole = ptes.findIndex((pte) => (pte & 1) === 0);
      if (hole >= 0 && from !== hole) {
        const frame = await dev._XchgFreePhysReg(first + from, 0, 0);
        if (frame !== 0) await dev._XchgFreePhysReg(first + hole, frame, 0);
      }
      Atomics.store(dev.shared, CLAIM, 0);
    },
  }),
});

const dma = defineDevice({
  name: 'BUSDMA',
  initOrder: 0x200,
  create: (dev) => ({
    async step() {
      const first = dev.shared[REGION]!;
      const page = first + dev.random.int(PAGES);
      const data = new Uint8Array([0xd3, dev.random.int(256), dev.random.int(256), 0x3d]);
      if (Atomics.compareExchange(dev.shared, CLAIM, 0, 0x200) !== 0) return;
      if ((await dev._LinPageLock(page, 1, 0)) !== 0) {
        const ptes = new Uint32Array(1);
        await dev._CopyPageTable(page, 1, ptes, 0); // after the lock: the frame stays put
        if ((ptes[0]! & 1) === 1) {
          dev.writePhysical((ptes[0]! & ~0xfff) >>> 0, data); // the bus master writes the frame
          const seen = await dev.readLinear(page * 4096, data.length);
          if (seen.some((b, i) => b !== data[i]))
            dev.violation('DMA data missed its page', { page, kind: 'dma' });
        }
        await dev._LinPageUnLock(page, 1, 0);
      }
      Atomics.store(dev.shared, CLAIM, 0);
    },
  }),
});

export default defineScenario({
  name: 'fixed: DMA locks, then reads the page table',
  machine: {
    ramPages: 448,
    vmMax: 2,
    blockMax: 64,
    actorMax: 8,
    vmV86Pages: 2,
    frameBufferPages: 16,
  },
  budget: { calls: 2000, seconds: 10 },
  devices: [mover, dma],
  vms: [],
});
