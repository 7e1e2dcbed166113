// The fixed version of dropped-frame.ts: SWAPPER checks what its last _XchgFreePhysReg
// returns. A non-zero result is a frame that FILLER mapped into the hole meanwhile, now held
// by SWAPPER: it goes into the next hole, until a call returns 0 — no frame is dropped.
// Check it with: npx vmmsim explore scenarios/races/dropped-frame.fixed.ts --preemptions 2
import { defineDevice, defineScenario, PageMapFreePhysReg, PG_SYS } from 'vmmsim';

const REGION = 0; // shared word: the region's first page, published by SWAPPER
const PAGES = 8;

const swapper = defineDevice({
  name: 'SWAPPER',
  initOrder: 0x100,
  create: (dev) => ({
    async control(message) {
      if (message !== 'Sys_Critical_Init') return false;
      const { eax } = await dev._PageAllocate(PAGES, PG_SYS, 0, 0, 0, 0, 0, PageMapFreePhysReg);
      dev.shared[REGION] = eax >>> 12;
      return eax === 0;
    },
    async step() {
      const first = dev.shared[REGION]!;
      const from = first + dev.random.int(PAGES);
      let held = await dev._XchgFreePhysReg(from, 0, 0);
      while (held !== 0 && held !== 0xffffffff) {
        const ptes = new Uint32Array(PAGES);
        await dev._CopyPageTable(first, PAGES, ptes, 0);
        const hole = ptes.findIndex((pte) => (pte & 1) === 0);
        // The page just emptied is a hole unless FILLER filled it: then put the frame back
        // where it came from, which returns FILLER's frame to go round again.
        held = await dev._XchgFreePhysReg(hole >= 0 ? first + hole : from, held, 0);
      }
    },
  }),
});

const filler = defineDevice({
  name: 'FILLER',
  initOrder: 0x200,
  create: (dev) => {
    let mapped = -1;
    return {
      // Fills the first hole for one step, then gives it back.
      async step() {
        if (mapped >= 0) {
          await dev._UnmapFreePhysReg(mapped, 1, 0);
          mapped = -1;
          return;
        }
        const first = dev.shared[REGION]!;
        const ptes = new Uint32Array(PAGES);
        await dev._CopyPageTable(first, PAGES, ptes, 0);
        const hole = ptes.findIndex((pte) => (pte & 1) === 0);
        if (hole >= 0 && (await dev._MapFreePhysReg(first + hole, 1, 0)) !== 0)
          mapped = first + hole;
      },
    };
  },
});

export default defineScenario({
  name: 'fixed: the exchange chain keeps every frame',
  machine: {
    ramPages: 448,
    vmMax: 2,
    blockMax: 64,
    actorMax: 8,
    vmV86Pages: 2,
    frameBufferPages: 16,
  },
  budget: { calls: 2000, seconds: 10 },
  devices: [swapper, filler],
  vms: [],
});
