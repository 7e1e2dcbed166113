// An example scenario module: your own device next to built-in models. Run it with
//   npx vmmsim run scenarios/example.ts
// Device and VM code awaits every service call: each call is a safe point where simulated
// interrupts arrive (and where, later, a controlled scheduler can switch actors).
import { defineDevice, defineScenario, dosVm, pageSwapDevice, PG_SYS, PageFixed } from 'vmmsim';

/** A scanner driver: a fixed 4-page buffer; each step "scans" into it by DMA (seed 002). */
const scanner = defineDevice({
  name: 'SCANNER',
  initOrder: 0x70000000,
  create: (dev) => {
    let buffer = 0;
    return {
      async control(message) {
        if (message === 'Device_Init') {
          const { eax } = await dev._PageAllocate(4, PG_SYS, 0, 0, 0, 0, 0, PageFixed);
          buffer = eax;
          return eax === 0; // carry: no buffer, do not load this device
        }
        return false;
      },
      async step() {
        const page = buffer >>> 12;
        if ((await dev._LinPageLock(page, 4, 0)) === 0) return;
        const ptes = new Uint32Array(4);
        await dev._CopyPageTable(page, 4, ptes, 0);
        const line = dev.random.int(4);
        const bytes = new Uint8Array([0x5c, line, dev.random.int(256)]);
        dev.writePhysical((ptes[line]! & ~0xfff) >>> 0, bytes); // the bus master writes
        const seen = await dev.readLinear(buffer + line * 4096, 3);
        if (seen.some((b, i) => b !== bytes[i]))
          dev.violation('scan line missed its page', { page: page + line });
        await dev._LinPageUnLock(page, 4, 0);
      },
    };
  },
});

export default defineScenario({
  name: 'example',
  description: 'A scanner driver of our own beside the page-swap device and two DOS VMs.',
  machine: { ramPages: 2048 },
  budget: { calls: 50_000, seconds: 30 },
  interrupts: { everyMs: 2 },
  devices: [pageSwapDevice({ name: 'PAGESWAP' }), scanner],
  vms: [dosVm({ name: 'DOS1' }), dosVm({ name: 'DOS2' })],
});
