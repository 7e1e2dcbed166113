// The invariant checker (DESIGN.md §6): each kind of damage, planted straight into the shared
// buffer or made through a service, is reported as exactly that kind, naming the frame or page;
// undoing the damage makes the machine sound again. A busy, well-behaved run reports nothing.
import { describe, expect, it } from 'vitest';
import {
  AssertionError,
  createKernel,
  PAGEMAPGLOBAL,
  PageFixed,
  PageLocked,
  PageMapFreePhysReg,
  PageZeroInit,
  PG_SYS,
  PG_VM,
  presets,
  P_PCD,
  type Violation,
} from '../../src/index.js';
import { popFree, pushFree, removeFree } from '../../src/shared/frames.js';
import {
  FR,
  FRAME_WORDS,
  FrameState,
  H,
  LK,
  LOCK_FREE_LIST,
  LOCK_WORDS,
} from '../../src/shared/layout.js';
import { pteIndex, SYSTEM_VM } from '../../src/shared/page_table.js';
import { makeNotPresent, makePresent } from '../../src/shared/pte.js';

/** A booted machine after Sys_VM_Init: one VM, a free physical region, a 4-page PG_SYS block. */
function machine() {
  const kernel = createKernel(presets.testMin);
  const dev = kernel.device('VCACHE');
  kernel.systemControl('Sys_Critical_Init');
  const region = dev._PageAllocate(8, PG_SYS, 0, 0, 0, 0, 0, PageMapFreePhysReg).eax >>> 12;
  kernel.systemControl('Device_Init');
  kernel.systemControl('Init_Complete');
  kernel.systemControl('Sys_VM_Init');
  const vm = kernel.createVM();
  const block = dev._PageAllocate(4, PG_SYS, 0, 0, 0, 0, 0, 0).eax >>> 12;
  const l = kernel.layout;
  const pteAt = (page: number): number => pteIndex(l, SYSTEM_VM, page);
  const frameOf = (page: number): number => l.ramWords[pteAt(page)]! >>> 12;
  const frameWord = (frame: number, word: number): number => frame * FRAME_WORDS + word;
  expect(region).toBeGreaterThan(0);
  expect(block).toBeGreaterThan(0);
  expect(kernel.check()).toEqual([]);
  return { kernel, dev, vm, l, region, block, pteAt, frameOf, frameWord };
}

const kinds = (violations: Violation[]): string[] => [...new Set(violations.map((v) => v.kind))];

describe('check() reports each kind of damage, and only that kind', () => {
  it('lost frame: a frame taken off the free list and given to nobody', () => {
    const { kernel, l } = machine();
    const frame = l.freeStack[3]!;
    removeFree(l, frame);
    const found = kernel.check();
    expect(kinds(found)).toEqual(['lost-frame']);
    expect(found[0]!.frame).toBe(frame);
    pushFree(l, frame);
    expect(kernel.check()).toEqual([]);
  });

  it('lost frame: a block page whose PTE was cleared', () => {
    const { kernel, l, block, pteAt, frameOf } = machine();
    const frame = frameOf(block + 2);
    const pte = l.ramWords[pteAt(block + 2)]!;
    l.ramWords[pteAt(block + 2)] = 0;
    const found = kernel.check();
    expect(kinds(found)).toEqual(['lost-frame']);
    expect(found[0]!.frame).toBe(frame);
    l.ramWords[pteAt(block + 2)] = pte;
    expect(kernel.check()).toEqual([]);
  });

  it('lost frame: a frame still held by an _XchgFreePhysReg caller at the end of the run', () => {
    const { kernel, dev, region } = machine();
    expect(dev._MapFreePhysReg(region, 1, 0)).toBe(1);
    const held = dev._XchgFreePhysReg(region, 0, 0);
    expect(held).not.toBe(0);
    expect(kernel.check()).toEqual([]); // held mid-run is legal, accounted to its caller
    const found = kernel.check({ final: true });
    expect(kinds(found)).toEqual(['lost-frame']);
    expect(found[0]).toMatchObject({ frame: held / 4096, page: region, actor: dev.actor });
    expect(dev._XchgFreePhysReg(region + 5, held, 0)).toBe(0);
    expect(kernel.check({ final: true })).toEqual([]);
  });

  it('doubled frame: the free list holds one frame twice', () => {
    const { kernel, l } = machine();
    const [twice, dropped] = [l.freeStack[1]!, l.freeStack[2]!];
    l.freeStack[2] = twice;
    const found = kernel.check();
    expect(kinds(found)).toEqual(['doubled-frame']);
    expect(found[0]!.frame).toBe(twice);
    l.freeStack[2] = dropped;
    expect(kernel.check()).toEqual([]);
  });

  it('doubled frame: _XchgFreePhysReg of a frame of another block is refused or reported', () => {
    const { kernel, dev, region, block, frameOf } = machine();
    const result = dev._XchgFreePhysReg(region, frameOf(block) * 4096, 0);
    if (result === 0xffffffff) expect(kernel.check()).toEqual([]);
    else expect(kinds(kernel.check())).toEqual(['doubled-frame']);
  });

  it('doubled frame: a page of one block maps the frame of another', () => {
    const { kernel, dev, l, block, pteAt, frameOf } = machine();
    const other = dev._PageAllocate(1, PG_SYS, 0, 0, 0, 0, 0, 0).eax >>> 12;
    const [own, stolen] = [frameOf(other), frameOf(block)];
    const pte = l.ramWords[pteAt(other)]!;
    pushFree(l, own);
    l.ramWords[pteAt(other)] = l.ramWords[pteAt(block)]!;
    const found = kernel.check();
    expect(kinds(found)).toEqual(['doubled-frame']);
    expect(found[0]).toMatchObject({ frame: stolen, page: other });
    expect(popFree(l)).toBe(own);
    l.frames[own * FRAME_WORDS + FR.state] = FrameState.BLOCK; // what pushFree cleared
    l.frames[own * FRAME_WORDS + FR.owner] = found[0]!.block!;
    l.frames[own * FRAME_WORDS + FR.where] = other;
    l.ramWords[pteAt(other)] = pte;
    expect(kernel.check()).toEqual([]);
  });

  it('PTE pointing at a free frame', () => {
    const { kernel, l, region, pteAt } = machine();
    const free = l.freeStack[0]!;
    const pte = l.ramWords[pteAt(region + 1)]!;
    l.ramWords[pteAt(region + 1)] = makePresent(free, pte);
    const found = kernel.check();
    expect(kinds(found)).toEqual(['pte-free-frame']);
    expect(found[0]).toMatchObject({ frame: free, page: region + 1 });
    l.ramWords[pteAt(region + 1)] = pte;
    expect(kernel.check()).toEqual([]);
  });

  it('locked page moved: _XchgFreePhysReg takes out a page locked with _LinPageLock', () => {
    const { kernel, dev, region } = machine();
    expect(dev._MapFreePhysReg(region, 2, 0)).toBe(1);
    expect(dev._LinPageLock(region, 1, 0)).toBe(1);
    const moved = dev._XchgFreePhysReg(region, 0, 0);
    const found = kernel.check();
    expect(kinds(found)).toEqual(['locked-page-moved']);
    expect(found[0]).toMatchObject({ frame: moved / 4096, page: region });
    expect(dev._XchgFreePhysReg(region, moved, 0)).toBe(0);
    expect(kernel.check({ final: true })).toEqual([]);
  });

  it('locked page moved: _UnmapFreePhysReg of a locked page is refused or reported', () => {
    const { kernel, dev, region } = machine();
    expect(dev._MapFreePhysReg(region, 1, 0)).toBe(1);
    expect(dev._LinPageLock(region, 1, 0)).toBe(1);
    const unmapped = dev._UnmapFreePhysReg(region, 1, 0);
    if (unmapped === 0) expect(kernel.check()).toEqual([]);
    else expect(kinds(kernel.check())).toEqual(['locked-page-moved']);
  });

  it('negative lock count', () => {
    const { kernel, l, block, frameOf, frameWord } = machine();
    const frame = frameOf(block + 1);
    l.frames[frameWord(frame, FR.lockCount)] = -1;
    const found = kernel.check();
    expect(kinds(found)).toEqual(['negative-lock-count']);
    expect(found[0]!.frame).toBe(frame);
    l.frames[frameWord(frame, FR.lockCount)] = 0;
    expect(kernel.check()).toEqual([]);
  });

  it('fixed page left its region: a PageFixed frame taken out of the region', () => {
    const { kernel, dev, l, region, pteAt, frameOf, frameWord } = machine();
    expect(dev._MapFreePhysReg(region + 3, 1, PageFixed)).toBe(1);
    expect(dev._XchgFreePhysReg(region + 3, 0, 0)).toBe(0xffffffff); // the service refuses
    const frame = frameOf(region + 3);
    const pte = l.ramWords[pteAt(region + 3)]!;
    l.ramWords[pteAt(region + 3)] = makeNotPresent(pte); // what a broken exchange would do
    l.frames[frameWord(frame, FR.state)] = FrameState.HELD;
    l.frames[frameWord(frame, FR.owner)] = dev.actor;
    const found = kernel.check();
    expect(kinds(found)).toEqual(['fixed-page-left']);
    expect(found[0]).toMatchObject({ frame });
  });

  it('free-list mismatch: a free frame the free list does not count', () => {
    const { kernel, l } = machine();
    l.header[H.freeCount] = l.header[H.freeCount]! - 1;
    expect(kinds(kernel.check())).toEqual(['free-list']);
    l.header[H.freeCount] = l.header[H.freeCount]! + 1;
    expect(kernel.check()).toEqual([]);
  });

  it('lock held: a lock word held at a quiescent point; phase boundaries refuse it', () => {
    const { kernel, dev, l } = machine();
    const word = LOCK_FREE_LIST * LOCK_WORDS + LK.state;
    Atomics.store(l.locks, word, dev.actor + 1);
    const found = kernel.check();
    expect(kinds(found)).toEqual(['lock-held']);
    expect(found[0]).toMatchObject({
      actor: dev.actor,
      message: expect.stringMatching(/free list/),
    });
    expect(() => kernel.systemControl('Sys_VM_Terminate')).toThrow(AssertionError);
    Atomics.store(l.locks, word, 0);
    expect(kernel.check()).toEqual([]);
  });

  it('PCD missing on a device-memory mapping', () => {
    const { kernel, dev, l, pteAt } = machine();
    const page = dev._MapPhysToLinear(0xe0000000, 4096, 0) >>> 12;
    const pte = l.ramWords[pteAt(page)]!;
    expect(pte & P_PCD).toBe(P_PCD);
    l.ramWords[pteAt(page)] = pte & ~P_PCD;
    const found = kernel.check();
    expect(kinds(found)).toEqual(['pcd-missing']);
    expect(found[0]!.page).toBe(page);
    l.ramWords[pteAt(page)] = pte;
    expect(kernel.check()).toEqual([]);
  });

  it('interrupt time: a synchronous service called with the reenter count raised', () => {
    const { kernel, dev } = machine();
    const result = dev.atInterrupt(() => dev._PageAllocate(1, PG_SYS, 0, 0, 0, 0, 0, 0));
    expect(result).toEqual({ eax: 0, edx: 0 });
    const found = kernel.check();
    expect(kinds(found)).toEqual(['interrupt-time']);
    expect(found[0]!.actor).toBe(dev.actor);
  });
});

describe('check() on a sound machine', () => {
  // Freeing a block that is wholly or partly locked is not an error (reference §2.2), so a
  // global alias made by _LinPageLock(PAGEMAPGLOBAL) must not outlive the frames it maps.
  it('reports nothing after _PageFree of a block locked with a global alias', () => {
    const { kernel, dev } = machine();
    const handle = dev._PageAllocate(2, PG_SYS, 0, 0, 0, 0, 0, 0).eax;
    expect(dev._LinPageLock(handle >>> 12, 2, PAGEMAPGLOBAL)).not.toBe(0);
    expect(dev._PageFree(handle, 0)).toBe(1);
    expect(kernel.check({ final: true })).toEqual([]);
  });

  it('reports nothing after Destroy_VM of a VM whose block is locked with a global alias', () => {
    const { kernel, dev, vm } = machine();
    const handle = dev._PageAllocate(2, PG_VM, vm.handle, 0, 0, 0, 0, 0).eax;
    expect(dev.inVM(vm.handle)._LinPageLock(handle >>> 12, 2, PAGEMAPGLOBAL)).not.toBe(0);
    kernel.destroyVM(vm);
    expect(kernel.check({ final: true })).toEqual([]);
  });

  it('reports nothing after a busy, well-behaved sequence', () => {
    const { kernel, dev, vm, region } = machine();
    const free0 = dev._GetFreePageCount(0).eax;
    const shared = dev._PageAllocate(3, PG_VM, vm.handle, 0, 0, 0, 0, PageZeroInit | PageLocked);
    const fixed = dev._PageAllocate(2, PG_SYS, 0, 0, 0, 0, 0, PageFixed).eax;
    expect(shared.eax).not.toBe(0);
    expect(dev._PageLock(shared.eax, 3, 0, 0)).toBe(1);
    expect(dev.inVM(vm.handle)._LinPageLock(shared.eax >>> 12, 2, 0)).toBe(1);
    const alias = dev._LinPageLock(fixed >>> 12, 2, PAGEMAPGLOBAL);
    expect(alias).not.toBe(0);
    expect(dev._MapFreePhysReg(region, 6, 0)).toBe(1);
    expect(dev._MapFreePhysReg(region + 6, 1, PageFixed)).toBe(1);
    kernel.writeLinear(null, region * 4096, new Uint8Array([1, 2, 3]));
    const taken = dev._XchgFreePhysReg(region, 0, 0); // take a page out, put it in elsewhere
    expect(dev.atInterrupt(() => dev._XchgFreePhysReg(region + 7, taken, 0))).toBe(0);
    expect(Array.from(kernel.readLinear(null, (region + 7) * 4096, 3))).toEqual([1, 2, 3]);
    expect(dev._MapPhysToLinear(0xc0000000, 8192, 0)).not.toBe(0xffffffff);
    expect(dev._CopyPageTable(region, 8, new Uint32Array(8), 0)).toBe(1);
    expect(dev._LinPageUnLock(alias >>> 12, 2, PAGEMAPGLOBAL)).toBe(1);
    expect(dev.inVM(vm.handle)._LinPageUnLock(shared.eax >>> 12, 2, 0)).toBe(1);
    expect(dev._UnmapFreePhysReg(region + 1, 5, 0)).toBe(1);
    expect(dev._PageFree(shared.eax, 0)).toBe(1);
    expect(dev._PageFree(fixed, 0)).toBe(1);
    const other = kernel.createVM();
    expect(dev._PageAllocate(4, PG_VM, other.handle, 0, 0, 0, 0, 0).eax).not.toBe(0);
    kernel.destroyVM(other);
    expect(kernel.check({ final: true })).toEqual([]);
    expect(dev._GetFreePageCount(0).eax).toBeLessThan(free0); // the region keeps 2 pages
  });
});
