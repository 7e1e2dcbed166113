// A planted race: a bus-master DMA device that reads the page table before it locks the
// buffer (seed 002 says: lock first). Between its _CopyPageTable and its _LinPageLock the
// page-moving device may exchange the buffer's pages; the transfer then writes frames that
// are no longer the buffer's, and the DMA device's check finds its data missing.
import { defineDevice, defineScenario, PageMapFreePhysReg, PG_SYS } from 'vmmsim';

const REGION = 0;
const PINNED = 1; // the page the DMA device has locked (+1), 0 when none
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
      // Moves an unlocked page into the hole: the agreement is "never move the page in PINNED".
      const first = dev.shared[REGION]!;
      const ptes = new Uint32Array(PAGES);
      await dev._CopyPageTable(first, PAGES, ptes, 0);
      const hole = ptes.findIndex((pte) => (pte & 1) === 0);
      const from = dev.random.int(PAGES);
      if (hole < 0 || from === hole || dev.shared[PINNED] === first + from + 1) return;
      const frame = await dev._XchgFreePhysReg(first + from, 0, 0);
      if (frame !== 0) await dev._XchgFreePhysReg(first + hole, frame, 0);
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
      const ptes = new Uint32Array(1);
      await dev._CopyPageTable(page, 1, ptes, 0); // BUG: read before the lock
      if ((ptes[0]! & 1) === 0 || (await dev._LinPageLock(page, 1, 0)) === 0) return;
      dev.shared[PINNED] = page + 1;
      const data = new Uint8Array([0xd3, dev.random.int(256), dev.random.int(256), 0x3d]);
      dev.writePhysical((ptes[0]! & ~0xfff) >>> 0, data); // the bus master writes the frame
      const seen = await dev.readLinear(page * 4096, data.length);
      if (seen.some((b, i) => b !== data[i])) {
        dev.violation('DMA data missed its page: the page moved before it was locked', {
          page,
          frame: ptes[0]! >>> 12,
        });
      }
      dev.shared[PINNED] = 0;
      await dev._LinPageUnLock(page, 1, 0);
    },
  }),
});

export default defineScenario({
  name: 'race: DMA reads the page table before it locks',
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
