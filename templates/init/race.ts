// A race between two devices, and the switch that fixes it.
//
// COMPACT1 and COMPACT2 compact one free physical region: each reads the page table, picks
// the highest present page and the lowest hole below it, and moves the frame down with
// seed 001's chain, _XchgFreePhysReg(high, 0) then _XchgFreePhysReg(hole, frame). When the
// other device moves the same page between the two reads and the calls, a frame is lost.
//
//   npx vmmsim hunt race.ts            finds the race and writes a replay file
//   npx vmmsim replay <that file>      the same failure, every time
//
// Then set TAKE_TURNS to true: the devices agree, through a word every actor shares, that
// one compacts at a time, and the same hunt finds nothing.
import { defineDevice, defineScenario, PageMapFreePhysReg, PG_SYS } from 'vmmsim';

const TAKE_TURNS = false;

const REGION = 0; // dev.shared[REGION]: the region's first page, set by COMPACT1
const TURN = 1; // dev.shared[TURN]: 1 while a device is compacting
const PAGES = 8;

const compactor = (name: string, initOrder: number, owner: boolean) =>
  defineDevice({
    name,
    initOrder,
    create: (dev) => {
      /** One compaction step: move the highest page's frame down into the lowest hole. */
      async function compact(): Promise<void> {
        const first = dev.shared[REGION]!;
        const ptes = new Uint32Array(PAGES);
        await dev._CopyPageTable(first, PAGES, ptes, 0);
        const present = [...ptes].map((pte) => (pte & 1) === 1);
        const high = present.lastIndexOf(true);
        const hole = present.indexOf(false);
        if (hole < 0 || high < 0 || hole > high) {
          await dev._MapFreePhysReg(first + dev.random.int(PAGES), 1, 0); // make some work
          return;
        }
        const frame = await dev._XchgFreePhysReg(first + high, 0, 0);
        await dev._XchgFreePhysReg(first + hole, frame, 0); // assumes nobody else moved
      }

      return {
        // Control messages in DDK order; the owner makes the region at Sys_Critical_Init.
        async control(message) {
          if (owner && message === 'Sys_Critical_Init') {
            const flags = PageMapFreePhysReg;
            const { eax } = await dev._PageAllocate(PAGES, PG_SYS, 0, 0, 0, 0, 0, flags);
            dev.shared[REGION] = eax >>> 12;
          }
          return false; // no carry: the device stays loaded
        },

        // One unit of work while the system runs.
        async step() {
          if (!TAKE_TURNS) return compact();
          if (Atomics.compareExchange(dev.shared, TURN, 0, 1) !== 0) {
            await dev.Get_VMM_Reenter_Count(); // the other device's turn: a call, then retry
            return;
          }
          try {
            await compact();
          } finally {
            Atomics.store(dev.shared, TURN, 0);
          }
        },
      };
    },
  });

export default defineScenario({
  name: 'race: two compactors',
  machine: { ramPages: 448, vmMax: 2, blockMax: 64, actorMax: 8, frameBufferPages: 16 },
  budget: { calls: 2000, seconds: 10 },
  devices: [compactor('COMPACT1', 0x100, true), compactor('COMPACT2', 0x200, false)],
  vms: [],
});
