// The table of free physical regions (services/region.ts): 64 entries. A region past the
// 64th is refused with 0/0 [I], and the block that _PageAllocate had begun for it goes, with
// its linear pages; before, it stayed allocated and belonged to no one.
import { describe, expect, it } from 'vitest';
import { createKernel, PageMapFreePhysReg, PG_SYS, presets } from '../../src/index.js';
import { REGION_MAX } from '../../src/shared/layout.js';

describe('the free physical region table', () => {
  it('past the 64th region fails with 0/0 and keeps nothing of the block it began', () => {
    expect(REGION_MAX).toBe(64);
    const kernel = createKernel(presets.testMin);
    const dev = kernel.device('PAGESWAP');
    kernel.systemControl('Sys_Critical_Init');
    const make = () => dev._PageAllocate(1, PG_SYS, 0, 0, 0, 0, null, PageMapFreePhysReg);
    for (let i = 0; i < REGION_MAX; i++) expect(make().eax).not.toBe(0);
    const linearBefore = kernel.layout.linearBits.slice();
    expect(make()).toEqual({ eax: 0, edx: 0 });
    expect(dev.lastError?.reason).toBe('too many free physical regions');
    expect(kernel.layout.linearBits).toEqual(linearBefore);
    const next = dev._PageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0);
    expect(next.eax).not.toBe(0);
    expect(dev._PageFree(next.eax, 0)).not.toBe(0);
    expect(kernel.check()).toEqual([]);
  });
});
