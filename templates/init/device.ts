// A device of your own beside two built-in DOS VMs. Run it:  npx vmmsim run device.ts
//
// SCANNER keeps a buffer for a bus-master transfer and does, over and over, what the DDK
// asks of a DMA device (seed 002): lock the pages, copy the page table, write at the
// physical addresses, check that the bytes arrived in the right linear pages, unlock.
// Every service call is awaited: each await is a safe point, where simulated interrupts
// arrive and, under `vmmsim hunt`, where another device or VM may run.
import { defineDevice, defineScenario, dosVm, type DeviceActor, PageFixed, PG_SYS } from 'vmmsim';

const PAGES = 4;

/** One transfer: lock, copy the page table, write at the physical addresses, check, unlock. */
async function transfer(dev: DeviceActor, buffer: number): Promise<void> {
  const first = buffer >>> 12;
  if ((await dev._LinPageLock(first, PAGES, 0)) === 0) return; // refused: try next step
  const ptes = new Uint32Array(PAGES);
  if ((await dev._CopyPageTable(first, PAGES, ptes, 0)) !== 0) {
    const page = dev.random.int(PAGES);
    const bytes = Uint8Array.of(dev.random.int(256), page, 0x5a);
    dev.writePhysical((ptes[page]! & ~0xfff) >>> 0, bytes); // what the bus master does
    const seen = await dev.readLinear(buffer + page * 4096, bytes.length);
    if (seen.some((byte, i) => byte !== bytes[i])) {
      dev.violation(`the transfer's bytes are not in page ${page} of the buffer`, {
        page: first + page,
      });
    }
  }
  await dev._LinPageUnLock(first, PAGES, 0);
}

const scanner = defineDevice({
  name: 'SCANNER',
  initOrder: 0x70000000, // DDB_Init_Order: control messages go from the lowest to the highest
  create: (dev) => {
    let buffer = 0;
    return {
      // Every control message, in DDK order (Sys_Critical_Init, Device_Init, …, Create_VM,
      // …, System_Exit). VM messages carry the VM's handle. Return true to set carry: at
      // Device_Init that means "not loaded", and the device gets no more messages.
      async control(message) {
        if (message !== 'Device_Init') return false;
        const { eax } = await dev._PageAllocate(PAGES, PG_SYS, 0, 0, 0, 0, 0, PageFixed);
        buffer = eax;
        return buffer === 0;
      },

      // One unit of work while the system runs, called again and again until the budget
      // (calls or seconds) is spent.
      async step() {
        await transfer(dev, buffer);
      },

      // A simulated hardware interrupt (scenario.interrupts below), at the device's next
      // safe point, with Get_VMM_Reenter_Count raised: only asynchronous services
      // (_XchgFreePhysReg) may be called here; a synchronous one is refused and reported.
      async interrupt() {
        if ((await dev.Get_VMM_Reenter_Count()) === 0) dev.violation('not at interrupt time');
      },

      // The end of the run, before the checker: give back what the device holds, or the
      // checker reports the frames as lost.
      async finish() {
        await dev._PageFree(buffer, 0);
      },
    };
  },
});

export default defineScenario({
  name: 'my device',
  machine: { ramPages: 2048 }, // 8 MiB of simulated RAM (4 KiB pages)
  budget: { calls: 20_000, seconds: 30 }, // the run phase ends at whichever comes first
  interrupts: { everyMs: 5 }, // an interrupt to each device with an interrupt() every 5 ms
  devices: [scanner],
  vms: [dosVm({ name: 'DOS1' }), dosVm({ name: 'DOS2' })],
});
