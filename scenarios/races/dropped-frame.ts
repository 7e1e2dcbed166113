// A planted race: an exchange chain that drops its last frame. SWAPPER looks at a page's
// PTE, sees it not present, and puts a frame there with _XchgFreePhysReg — assuming the
// call must return 0, it ignores the result. If FILLER maps that page between the look and
// the exchange, the call returns FILLER's frame, which nobody holds any more: a lost frame.
// Find it with: npx vmmsim hunt scenarios/races/dropped-frame.ts
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
      const held = await dev._XchgFreePhysReg(from, 0, 0);
      if (held === 0 || held === 0xffffffff) return;
      const ptes = new Uint32Array(PAGES);
      await dev._CopyPageTable(first, PAGES, ptes, 0);
      const hole = ptes.findIndex((pte) => (pte & 1) === 0);
      await dev._XchgFreePhysReg(first + hole, held, 0); // BUG: the result is ignored
    },
  }),
});

const filler = defineDevice({
  name: 'FILLER',
  initOrder: 0x200,
  create: (dev) => {
    let mapped = -1;
    return {
      // Fills the first hole for one step, then gives it back: the page SWAPPER may be
      // about to use.
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
  name: 'race: dropped frame',
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
