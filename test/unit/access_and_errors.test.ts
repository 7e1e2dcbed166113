// Two dead ends of issue 11 in the in-process API: a physical write that runs past memory
// writes nothing (it used to write the bytes below the top, then throw), and lastError names
// the last call's failure only (it used to keep a stale reason after a later success).
import { describe, expect, it } from 'vitest';
import { createKernel, PG_SYS, presets } from '../../src/index.js';

function machine() {
  const kernel = createKernel(presets.testMin);
  const dev = kernel.device('VDEV');
  kernel.systemControl('Sys_Critical_Init');
  return { kernel, dev };
}

describe('writePhysical / readPhysical', () => {
  it('a write across the top of RAM is refused whole: nothing below the top is written', () => {
    const { kernel } = machine();
    const top = kernel.layout.options.ramPages * 4096;
    const before = kernel.readPhysical(top - 8, 8);
    expect(() => kernel.writePhysical(top - 8, new Uint8Array(16).fill(0xee))).toThrow(RangeError);
    expect(kernel.readPhysical(top - 8, 8)).toEqual(before);
    expect(() => kernel.readPhysical(top - 8, 16)).toThrow(/no memory at physical address/);
    expect(kernel.check()).toEqual([]);
  });
});

describe('lastError', () => {
  it('is the reason of the last call when it failed, and undefined after a success', () => {
    const { dev } = machine();
    expect(dev._PageFree(0x1234, 0)).toBe(0);
    expect(dev.lastError).toEqual({ service: '_PageFree', reason: 'invalid memory handle' });
    const block = dev._PageAllocate(1, PG_SYS, 0, 0, 0, 0, 0, 0).eax;
    expect(block).not.toBe(0);
    expect(dev.lastError).toBeUndefined();
    expect(dev._PageFree(block, 0)).toBe(1);
    expect(dev.lastError).toBeUndefined();
  });

  it("a callback sees its own call's refusal; the outer call that succeeds ends with none", () => {
    const { kernel, dev } = machine();
    const seen: unknown[] = [];
    expect(
      dev._SetFreePhysRegCalBk(() => {
        seen.push(dev._UnmapFreePhysReg(0x1, 1, 0), dev.lastError?.service);
        return false;
      }, 0),
    ).not.toBe(0);
    for (const m of ['Device_Init', 'Init_Complete', 'Sys_VM_Init'] as const)
      kernel.systemControl(m);
    const block = dev._PageAllocate(1, PG_SYS, 0, 0, 0, 0, 0, 0).eax;
    seen.length = 0;
    expect(dev._PageFree(block, 0)).toBe(1); // Request 0 to the callback, from inside
    expect(seen).toEqual([0, '_UnmapFreePhysReg']);
    expect(dev.lastError).toBeUndefined();
  });
});
