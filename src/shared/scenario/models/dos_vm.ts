/**
 * Built-in VM model "dos-vm" (seed 004): a DOS VM running a DPMI client. Its steps map
 * device memory with Int 31h 0800h (the frame buffer at 0E0000000h, the coprocessor at
 * 0C0000000h) and touch it, free it with 0801h, allocate, lock, unlock and free memory
 * blocks (0501h, 0600h, 0601h, 0502h) and check their bytes, check the refusals (8021h below
 * 1 MB, 8003h RAM, 8001h unknown function), put the free list under pressure (Request 1
 * through the kernel), and check its V86 instance bytes agreed with the v86-data device.
 */
import { z } from 'zod';
import {
  DPMI_INVALID_HANDLE,
  DPMI_INVALID_LINEAR_ADDRESS,
  DPMI_INVALID_STATE,
  DPMI_INVALID_VALUE,
  DPMI_LINEAR_MEMORY_UNAVAILABLE,
  DPMI_PHYSICAL_MEMORY_UNAVAILABLE,
  DPMI_SYSTEM_INTEGRITY,
  DPMI_UNSUPPORTED_FUNCTION,
} from '../../constants.js';
import { defineVM, type VmActor, type VmDefinition, type VmProgram } from '../scenario.js';
import type { Registers, RegistersIn } from '../../services/index.js';
import { makeToken, TOKEN_BYTES } from '../../page_token.js';
import {
  hex,
  markVmEntryApplied,
  patternBytes,
  readV86Blocks,
  sameBytes,
  V86_WORDS,
  vmEntries,
} from './shared_words.js';

export const dosVmOptionsSchema = z.strictObject({
  name: z.string().min(1).max(16).default('DOSVM'),
  /** Pages the VM allocates on top of its working blocks, to press on the free list. */
  pressurePages: z.number().int().min(0).max(4096).default(24),
});
export type DosVmOptions = z.input<typeof dosVmOptionsSchema>;
type DosVmConfig = z.output<typeof dosVmOptionsSchema>;

const FRAME_BUFFER = 0xe0000000;
const FRAME_BUFFER_PAGES = 1024;
const COPROCESSOR = 0xc0000000;
const COPROCESSOR_BYTES = 0x10000;
const MAPPINGS_MAX = 4;
const BLOCKS_MAX = 4;
/** Each VM touches its own 16 bytes of a device page (lane = VM handle bits 12-19). */
const TOUCH_BYTES = 16;

interface Mapping {
  linear: number;
  bytes: number;
}
interface Block {
  handle: number;
  pages: number;
  locked: boolean;
  tokens: Uint8Array[];
}

const pair = (high: number, low: number): number =>
  (((high & 0xffff) << 16) | (low & 0xffff)) >>> 0;
const split = (value: number): [number, number] => [(value >>> 16) & 0xffff, value & 0xffff];

class DosVm implements VmProgram {
  readonly counters = {
    mapped: 0,
    allocated: 0,
    refusalsChecked: 0,
    pressureRefused: 0,
    instanceChecks: 0,
  };
  private readonly mappings: Mapping[] = [];
  private readonly blocks: Block[] = [];
  private readonly pressure: Block[] = [];
  private readonly lane: number;
  private readonly writer: number;
  private tokenCount = 0;

  constructor(
    private readonly vm: VmActor,
    private readonly o: DosVmConfig,
  ) {
    this.lane = (vm.handle >>> 12) & 0xff; // distinct for every VM the machine can hold
    this.writer = vm.random.nextU32();
  }

  /** One DPMI action, picked at random. */
  async step(): Promise<void> {
    const roll = this.vm.random.int(100);
    if (roll < 15) await this.mapDevice();
    else if (roll < 25) await this.unmapDevice();
    else if (roll < 42) await this.allocate(this.blocks, this.vm.random.range(1, 3));
    else if (roll < 54) await this.toggleLock();
    else if (roll < 64) await this.freeBlock(this.blocks);
    else if (roll < 72) await this.verifyBlocks();
    else if (roll < 89) await this.pressOn();
    else if (roll < 92) await this.checkRefusals();
    else await this.checkInstanceData();
  }

  /** The end: every mapping and block given back. */
  async finish(): Promise<void> {
    while (this.mappings.length > 0) await this.unmapDevice();
    await this.verifyBlocks();
    while (this.blocks.length > 0) await this.freeBlock(this.blocks);
    while (this.pressure.length > 0) await this.freeBlock(this.pressure);
  }

  private async int31(regs: RegistersIn, allowed: number[] = []): Promise<Registers | undefined> {
    const out = await this.vm.int31(regs);
    if (out.cf === 0) return out;
    if (!allowed.includes(out.ax)) {
      const why = this.vm.lastError?.reason;
      this.vm.violation(`Int 31h ${hex(regs.ax)}: error ${hex(out.ax)} (${why})`);
    }
    return undefined;
  }

  /** 0800h, then a write and a read back through the new linear address. */
  private async mapDevice(): Promise<void> {
    if (this.mappings.length >= MAPPINGS_MAX) return this.unmapDevice();
    const frameBuffer = this.vm.random.chance(2, 3);
    const pages = this.vm.random.range(1, 3);
    const physical = frameBuffer
      ? FRAME_BUFFER + this.vm.random.int(FRAME_BUFFER_PAGES - pages) * 4096
      : COPROCESSOR;
    const bytes = frameBuffer ? pages * 4096 : COPROCESSOR_BYTES;
    const [bx, cx] = split(physical);
    const [si, di] = split(bytes);
    const out = await this.int31({ ax: 0x0800, bx, cx, si, di }, [DPMI_LINEAR_MEMORY_UNAVAILABLE]);
    if (out === undefined) return;
    const mapping = { linear: pair(out.bx, out.cx), bytes };
    this.mappings.push(mapping);
    this.counters.mapped += 1;
    const at = mapping.linear + this.vm.random.int(bytes / 4096) * 4096 + this.lane * TOUCH_BYTES;
    const wrote = patternBytes(this.writer ^ this.counters.mapped, TOUCH_BYTES);
    await this.vm.writeLinear(at, wrote);
    if (!sameBytes(await this.vm.readLinear(at, TOUCH_BYTES), wrote))
      this.vm.violation(
        `device memory at ${hex(at)} (from ${hex(physical)}) did not keep its bytes`,
      );
  }

  private async unmapDevice(): Promise<void> {
    const mapping = this.mappings.shift();
    if (mapping === undefined) return;
    const [bx, cx] = split(mapping.linear);
    await this.int31({ ax: 0x0801, bx, cx });
  }

  /** 0501h; each page gets a token. Out of memory is a DDK outcome, not a violation. */
  private async allocate(list: Block[], pages: number): Promise<boolean> {
    if (list === this.blocks && list.length >= BLOCKS_MAX) return this.freeBlock(list);
    const [bx, cx] = split(pages * 4096);
    const out = await this.int31({ ax: 0x0501, bx, cx }, [
      DPMI_PHYSICAL_MEMORY_UNAVAILABLE,
      DPMI_LINEAR_MEMORY_UNAVAILABLE,
    ]);
    if (out === undefined) return false;
    const block: Block = { handle: pair(out.si, out.di), pages, locked: false, tokens: [] };
    if (block.handle !== pair(out.bx, out.cx))
      this.vm.violation('0501h: handle is not the address');
    for (let i = 0; i < pages; i++) {
      this.tokenCount += 1;
      block.tokens.push(makeToken(this.writer, this.tokenCount));
      await this.vm.writeLinear(block.handle + i * 4096, block.tokens[i]!);
    }
    list.push(block);
    this.counters.allocated += 1;
    return true;
  }

  /** 0600h or 0601h on a block; sometimes 0601h on an unlocked block (8002h expected). */
  private async toggleLock(): Promise<void> {
    const block = this.blocks[this.vm.random.int(Math.max(this.blocks.length, 1))];
    if (block === undefined) return;
    const [bx, cx] = split(block.handle);
    const [si, di] = split(block.pages * 4096);
    if (!block.locked && this.vm.random.chance(1, 20)) {
      const out = await this.vm.int31({ ax: 0x0601, bx, cx, si, di });
      this.expectError(out, 0x0601, DPMI_INVALID_STATE);
      return;
    }
    const out = await this.int31({ ax: block.locked ? 0x0601 : 0x0600, bx, cx, si, di });
    if (out !== undefined) block.locked = !block.locked;
  }

  private async freeBlock(list: Block[]): Promise<boolean> {
    const [block] = list.splice(this.vm.random.int(Math.max(list.length, 1)), 1);
    if (block === undefined) return false;
    const [bx, cx] = split(block.handle);
    const [si, di] = split(block.pages * 4096);
    if (block.locked) await this.int31({ ax: 0x0601, bx, cx, si, di });
    await this.int31({ ax: 0x0502, si: bx, di: cx });
    return true;
  }

  private async verifyBlocks(): Promise<void> {
    for (const block of [...this.blocks, ...this.pressure]) {
      for (let i = 0; i < block.pages; i++) {
        const address = block.handle + i * 4096;
        const bytes = await this.vm.readLinear(address, TOKEN_BYTES);
        if (!sameBytes(bytes, block.tokens[i]!))
          this.vm.violation(`DPMI block page ${hex(address)} lost its data`, {
            page: address >>> 12,
          });
      }
    }
  }

  /** Allocates up to pressurePages; a refusal means Request 1 went to the callbacks. */
  private async pressOn(): Promise<void> {
    const held = this.pressure.reduce((sum, b) => sum + b.pages, 0);
    if (held >= this.o.pressurePages) {
      while (this.pressure.length > 0) await this.freeBlock(this.pressure);
      return;
    }
    const pages = Math.min(this.o.pressurePages - held, this.vm.random.range(4, 8));
    if (!(await this.allocate(this.pressure, pages))) this.counters.pressureRefused += 1;
  }

  /** Seed 004's refusals and the DPMI errors of bad arguments. */
  private async checkRefusals(): Promise<void> {
    const below1Mb = split(0xa0000 + this.vm.random.int(0x60) * 4096);
    const ram = split(0x100000 + this.vm.random.int(16) * 4096); // the HMA: always RAM
    const cases: [RegistersIn, number][] = [
      [{ ax: 0x0800, bx: below1Mb[0], cx: below1Mb[1], si: 0, di: 0x1000 }, DPMI_INVALID_VALUE],
      [{ ax: 0x0800, bx: ram[0], cx: ram[1], si: 0, di: 0x1000 }, DPMI_SYSTEM_INTEGRITY],
      [{ ax: 0x0800, bx: 0xe000, cx: 0, si: 0, di: 0 }, DPMI_INVALID_VALUE],
      [{ ax: 0x0801, bx: 0x0003, cx: 0x1234 }, DPMI_INVALID_LINEAR_ADDRESS],
      [{ ax: 0x0502, si: 0x0003, di: 0x1000 }, DPMI_INVALID_HANDLE],
      [{ ax: 0x0999 }, DPMI_UNSUPPORTED_FUNCTION],
    ];
    const [regs, code] = this.vm.random.pick(cases);
    this.expectError(await this.vm.int31(regs), regs.ax, code);
  }

  private expectError(out: Registers, ax: number, code: number): void {
    this.counters.refusalsChecked += 1;
    if (out.cf === 1 && out.ax === code) return;
    const got = out.cf === 0 ? 'success' : `error ${hex(out.ax)}`;
    this.vm.violation(`Int 31h ${hex(ax)}: expected error ${hex(code)}, got ${got}`);
  }

  /** Seed 003 as the VM sees it: its own instance bytes, the same global bytes as all. */
  private async checkInstanceData(): Promise<void> {
    const blocks = readV86Blocks(this.vm.shared);
    const entries = vmEntries(this.vm.shared);
    const mine = entries.find((e) => e.handle === this.vm.handle >>> 0);
    if (blocks === undefined || mine === undefined) return;
    this.counters.instanceChecks += 1;
    const length = blocks.instanceBytes;
    const bytes = await this.vm.readLinear(blocks.instanceAddress, length);
    const applied = mine.state === V86_WORDS.APPLIED;
    const wanted = patternBytes(applied ? mine.seed : blocks.initSeed, length);
    if (!sameBytes(bytes, wanted)) {
      const other = entries.find(
        (e) => e !== mine && sameBytes(bytes, patternBytes(e.seed, length)),
      );
      const whose = other === undefined ? 'bytes nobody wrote' : `VM ${hex(other.handle)}'s bytes`;
      this.vm.violation(`V86 instance block ${hex(blocks.instanceAddress)} shows ${whose}`, {
        page: blocks.instanceAddress >>> 12,
      });
    }
    if (!applied) {
      await this.vm.writeLinear(blocks.instanceAddress, patternBytes(mine.seed, length));
      markVmEntryApplied(this.vm.shared, mine.entry);
    }
    const global = await this.vm.readLinear(blocks.globalAddress, blocks.globalBytes);
    if (!sameBytes(global, patternBytes(blocks.globalSeed, blocks.globalBytes)))
      this.vm.violation(`global V86 block ${hex(blocks.globalAddress)} differs in this VM`);
  }
}

/** The DOS VM with a DPMI client: a factory for a scenario's VM list. */
export function dosVm(options: DosVmOptions = {}): VmDefinition {
  const o = dosVmOptionsSchema.parse(options);
  return defineVM({ name: o.name, options: o, create: (vm) => new DosVm(vm, o) });
}
