/**
 * The scenario the race benchmarks run: four devices, each allocating and freeing a page
 * per step on a small machine — about 200 scheduling decisions a run. A module (not code
 * in races.ts) because hunt's pool threads load scenarios by path.
 */
import { defineDevice, defineScenario, PG_SYS } from '../src/index.js';

const allocator = (name: string) =>
  defineDevice({
    name,
    initOrder: 0x100,
    create: (dev) => ({
      async step() {
        const { eax } = await dev._PageAllocate(1, PG_SYS, 0, 0, 0, 0, 0, 0);
        if (eax !== 0) await dev._PageFree(eax, 0);
      },
    }),
  });

export default defineScenario({
  name: 'bench: four allocators',
  machine: {
    ramPages: 448,
    vmMax: 2,
    blockMax: 64,
    actorMax: 8,
    vmV86Pages: 2,
    frameBufferPages: 16,
  },
  devices: [allocator('A'), allocator('B'), allocator('C'), allocator('D')],
  vms: [],
});
