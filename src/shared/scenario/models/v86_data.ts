/**
 * Built-in device model "v86-data" (seed 003): a VxD that allocates from the global V86 data
 * area during initialization with every legal flag combination and checks each result
 * (alignment, zeroed bytes, the nul page behind GVDAReclaim, refusals of illegal
 * combinations and of calls outside their phase). Its GVDAInstance block gets different
 * bytes in every VM: the device cannot address a VM's V86 space, so it publishes the bytes
 * (V86_WORDS in shared_words.ts) and the DOS VM model writes and checks them in its own view.
 */
import { z } from 'zod';
import {
  type ControlMessageName,
  GVDADWordAlign,
  GVDAHighSysCritOK,
  GVDAInquire,
  GVDAInstance,
  GVDAPageAlign,
  GVDAParaAlign,
  GVDAReclaim,
  GVDAWordAlign,
  GVDAZeroInit,
} from '../../constants.js';
import { type DeviceActor, type DeviceDefinition, type DeviceProgram } from '../scenario.js';
import { modelDevice } from './model.js';
import {
  clearVmEntry,
  hex,
  patternBytes,
  publishV86Blocks,
  publishVmEntry,
  readV86Blocks,
  sameBytes,
  type V86Blocks,
  vmEntries,
} from './shared_words.js';

export const v86DataOptionsSchema = z.strictObject({
  name: z.string().min(1).max(8).default('V86DATA'),
  initOrder: z.number().int().min(0).max(0xffffffff).default(0x10000000),
});
export type V86DataOptions = z.input<typeof v86DataOptionsSchema>;
type V86DataConfig = z.output<typeof v86DataOptionsSchema>;

/** One call and what it must give: an address with this alignment, or a refusal (0). */
interface Probe {
  what: string;
  nBytes: number;
  flags: number;
  align: number | 'refused';
}

const SYS_CRITICAL_PROBES: Probe[] = [
  { what: 'GVDAHighSysCritOK', nBytes: 16, flags: GVDAHighSysCritOK, align: 1 },
  {
    what: 'two alignment flags',
    nBytes: 16,
    flags: GVDAWordAlign | GVDAParaAlign,
    align: 'refused',
  },
  {
    what: 'GVDAReclaim with GVDAInstance',
    nBytes: 4096,
    flags: GVDAPageAlign | GVDAReclaim | GVDAInstance,
    align: 'refused',
  },
  { what: 'a reserved flag (10h)', nBytes: 16, flags: 0x10, align: 'refused' },
  { what: 'nBytes 0', nBytes: 0, flags: 0, align: 'refused' },
];
const DEVICE_INIT_PROBES: Probe[] = [
  { what: 'no alignment flag', nBytes: 7, flags: 0, align: 1 },
  { what: 'GVDAWordAlign', nBytes: 7, flags: GVDAWordAlign, align: 2 },
  { what: 'GVDADWordAlign', nBytes: 7, flags: GVDADWordAlign, align: 4 },
  { what: 'GVDAParaAlign', nBytes: 7, flags: GVDAParaAlign, align: 16 },
  { what: 'GVDAPageAlign', nBytes: 7, flags: GVDAPageAlign, align: 4096 },
  {
    what: 'GVDAHighSysCritOK after Sys_Critical_Init',
    nBytes: 16,
    flags: GVDAHighSysCritOK,
    align: 'refused',
  },
];
const CHECKED_BYTES = 64;

class V86Data implements DeviceProgram {
  readonly counters = { probes: 0, vmsPublished: 0, checks: 0, vmCopiesChecked: 0 };
  private blocks: V86Blocks | undefined;

  constructor(
    private readonly dev: DeviceActor,
    readonly o: V86DataConfig,
  ) {}

  async control(message: ControlMessageName, vmHandle: number): Promise<boolean> {
    switch (message) {
      case 'Sys_Critical_Init':
        await this.probes(SYS_CRITICAL_PROBES);
        await this.checkReclaim();
        break;
      case 'Device_Init':
        await this.probes(DEVICE_INIT_PROBES);
        await this.checkTempArea();
        await this.checkZeroInit();
        await this.allocateBlocks();
        break;
      case 'Init_Complete':
        await this.checkInquire();
        break;
      case 'Sys_VM_Init':
        await this.probes([
          { what: 'after initialization', nBytes: 16, flags: 0, align: 'refused' },
        ]);
        break;
      case 'Create_VM':
        this.publishVm(vmHandle);
        break;
      case 'VM_Init':
        await this.checkVmCopy(vmHandle);
        break;
      case 'Destroy_VM':
        clearVmEntry(this.dev.shared, vmHandle);
        break;
      default:
        break;
    }
    return false;
  }

  /** The system VM's copies must keep their bytes whatever the VMs write in theirs. */
  async step(): Promise<void> {
    await this.dev.Get_VMM_Reenter_Count();
    const blocks = this.blocks;
    if (blocks === undefined) return;
    this.counters.checks += 1;
    await this.expect(
      blocks.instanceAddress,
      patternBytes(blocks.initSeed, CHECKED_BYTES),
      'instance',
    );
    await this.expect(
      blocks.globalAddress,
      patternBytes(blocks.globalSeed, blocks.globalBytes),
      'global',
    );
  }

  private async alloc(nBytes: number, flags: number): Promise<number> {
    this.counters.probes += 1;
    return this.dev._Allocate_Global_V86_Data_Area(nBytes, flags);
  }

  private async probes(list: Probe[]): Promise<void> {
    for (const p of list) {
      const address = await this.alloc(p.nBytes, p.flags);
      const call = `_Allocate_Global_V86_Data_Area(${hex(p.nBytes)}, ${p.what})`;
      if (p.align === 'refused') {
        if (address !== 0) this.dev.violation(`${call} returned ${hex(address)}, not 0`);
      } else if (address === 0) {
        this.dev.violation(`${call} failed: ${this.dev.lastError?.reason}`);
      } else if (address % p.align !== 0) {
        this.dev.violation(`${call} returned ${hex(address)}, not ${p.align}-byte aligned`);
      }
    }
  }

  /** GVDAReclaim with GVDAPageAlign: the block's page is the system nul page afterwards. */
  private async checkReclaim(): Promise<void> {
    const address = await this.alloc(4096, GVDAPageAlign | GVDAReclaim);
    if (address === 0 || address % 4096 !== 0) {
      this.dev.violation(`GVDAReclaim block at ${hex(address)}: not a page`);
      return;
    }
    const nul = new Uint32Array(1);
    const mine = new Uint32Array(1);
    await this.dev._CopyPageTable((await this.dev._GetNulPageHandle()) >>> 12, 1, nul, 0);
    await this.dev._CopyPageTable(address >>> 12, 1, mine, 0);
    if (mine[0]! >>> 12 !== nul[0]! >>> 12)
      this.dev.violation(`GVDAReclaim page ${hex(address >>> 12)} is not the nul page`, {
        page: address >>> 12,
        frame: mine[0]! >>> 12,
      });
  }

  /** The global area is unavailable while a temporary block exists (seed 003). */
  private async checkTempArea(): Promise<void> {
    if ((await this.dev._Allocate_Temp_V86_Data_Area(64, 0)) === 0) return;
    await this.probes([{ what: 'with a temporary block', nBytes: 16, flags: 0, align: 'refused' }]);
    if ((await this.dev._Free_Temp_V86_Data_Area()) === 0)
      this.dev.violation('_Free_Temp_V86_Data_Area failed with a block allocated');
  }

  /** GVDAZeroInit over bytes made dirty first: the packed next block lands on them. */
  private async checkZeroInit(): Promise<void> {
    const before = await this.alloc(1, 0);
    if (before === 0) return;
    await this.dev.writeLinear(before + 1, new Uint8Array(CHECKED_BYTES).fill(0xa5));
    const address = await this.alloc(CHECKED_BYTES, GVDAZeroInit);
    if (address === 0) return this.dev.violation('GVDAZeroInit allocation failed');
    const bytes = await this.dev.readLinear(address, CHECKED_BYTES);
    if (bytes.some((b) => b !== 0))
      this.dev.violation(`GVDAZeroInit block at ${hex(address)} is not zeroed`, {
        page: address >>> 12,
      });
  }

  /** The instance block (a page of its own) and a global block, both published. */
  private async allocateBlocks(): Promise<void> {
    const instance = await this.alloc(4096, GVDAInstance | GVDAPageAlign | GVDAZeroInit);
    const global = await this.alloc(CHECKED_BYTES, GVDADWordAlign);
    if (instance === 0 || global === 0) return this.dev.violation('V86 block allocation failed');
    if (instance % 4096 !== 0) this.dev.violation(`GVDAInstance|GVDAPageAlign at ${hex(instance)}`);
    const zeros = await this.dev.readLinear(instance, CHECKED_BYTES);
    if (zeros.some((b) => b !== 0))
      this.dev.violation(`instance block ${hex(instance)} not zeroed`);
    const blocks: V86Blocks = {
      instanceAddress: instance,
      instanceBytes: CHECKED_BYTES,
      initSeed: this.dev.random.nextU32() | 1,
      globalAddress: global,
      globalBytes: CHECKED_BYTES,
      globalSeed: this.dev.random.nextU32() | 1,
    };
    await this.dev.writeLinear(instance, patternBytes(blocks.initSeed, CHECKED_BYTES));
    await this.dev.writeLinear(global, patternBytes(blocks.globalSeed, CHECKED_BYTES));
    if (publishV86Blocks(this.dev.shared, blocks)) this.blocks = blocks;
  }

  /** GVDAInquire at Init_Complete: the room left, then used up exactly. */
  private async checkInquire(): Promise<void> {
    const room = await this.alloc(0, GVDAInquire);
    const paraRoom = await this.alloc(0, GVDAInquire | GVDAParaAlign);
    const pageRoom = await this.alloc(0, GVDAInquire | GVDAPageAlign);
    if (paraRoom > room || pageRoom > paraRoom)
      this.dev.violation(`GVDAInquire: ${room} bytes, ${paraRoom} aligned, ${pageRoom} paged`);
    if (room === 0) return;
    if ((await this.alloc(room, 0)) === 0) this.dev.violation(`the inquired ${room} bytes failed`);
    const left = await this.alloc(0, GVDAInquire);
    if (left !== 0) this.dev.violation(`GVDAInquire after using the room: ${left}, not 0`);
  }

  /** Create_VM: the bytes this VM's instance block must hold, different for every VM. */
  private publishVm(vmHandle: number): void {
    if (this.blocks === undefined || readV86Blocks(this.dev.shared) === undefined) return;
    const taken = new Set(vmEntries(this.dev.shared).map((e) => e.seed));
    let seed = (Math.imul(vmHandle, 0x9e3779b1) ^ this.dev.random.nextU32()) >>> 0 || 1;
    while (taken.has(seed) || seed === this.blocks.initSeed) seed = (seed + 0x61c88647) >>> 0 || 1;
    if (publishVmEntry(this.dev.shared, vmHandle, seed)) this.counters.vmsPublished += 1;
  }

  /**
   * VM_Init, acting for the new VM (dev.inVM: that VM current, ring 0): its instance block
   * holds the snapshot's bytes, and the global block the bytes every VM shares.
   */
  private async checkVmCopy(vmHandle: number): Promise<void> {
    const blocks = this.blocks;
    if (blocks === undefined) return;
    const vm = this.dev.inVM(vmHandle);
    const instance = await vm.readLinear(blocks.instanceAddress, CHECKED_BYTES);
    const global = await vm.readLinear(blocks.globalAddress, blocks.globalBytes);
    this.counters.vmCopiesChecked += 1;
    if (!sameBytes(instance, patternBytes(blocks.initSeed, CHECKED_BYTES)))
      this.dev.violation(`VM ${hex(vmHandle)}: its instance block is not the snapshot`);
    if (!sameBytes(global, patternBytes(blocks.globalSeed, blocks.globalBytes)))
      this.dev.violation(`VM ${hex(vmHandle)}: the global V86 block differs from the system VM's`);
  }

  private async expect(address: number, wanted: Uint8Array, what: string): Promise<void> {
    const bytes = await this.dev.readLinear(address, wanted.length);
    if (!sameBytes(bytes, wanted))
      this.dev.violation(`system VM ${what} V86 block at ${hex(address)} changed`, {
        page: address >>> 12,
      });
  }
}

/** The V86 data device: a factory for a scenario's device list. */
export function v86DataDevice(options: V86DataOptions = {}): DeviceDefinition {
  const o = v86DataOptionsSchema.parse(options);
  return modelDevice(o, (dev) => new V86Data(dev, o));
}
