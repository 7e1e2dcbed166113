/**
 * Step footprints for explore's partial-order reduction: what one scheduling step (the call
 * an actor was resumed into, and its own code up to its next scheduling point) read and
 * wrote, as small integer resources — a linear page (its PTE and lock count), the frame
 * pool, the free physical region, RAM contents, the scenario's shared words. Two steps of
 * different actors commute when neither writes what the other reads or writes.
 *
 * Sound by being coarse: only the calls listed here have a footprint of their own; any other
 * service, a page in the per-VM V86 region, a VM's linear access, a callback chain or an
 * interrupt makes the step touch everything (it conflicts with every other step).
 */

/** Resources beyond the linear pages (page numbers are below 2^20). */
export const R = {
  frames: 1 << 21,
  freeRegion: (1 << 21) + 1,
  ram: (1 << 21) + 2,
  shared: (1 << 21) + 3,
} as const;

/** Pages below this are the per-VM V86 region: the same number is another page in each VM. */
const V86_PAGES = 0x400;

export class Footprint {
  readonly reads: number[] = [];
  readonly writes: number[] = [];
  /** The step touched something not modelled here: it conflicts with everything. */
  all = false;

  reset(): void {
    this.reads.length = 0;
    this.writes.length = 0;
    this.all = false;
  }

  private pages(into: number[], first: unknown, count: unknown): void {
    if (typeof first !== 'number' || typeof count !== 'number' || count > 64) {
      this.all = true;
      return;
    }
    if (first < V86_PAGES) this.all = true;
    for (let p = first; p < first + count; p++) into.push(p);
  }

  /**
   * Adds the access of one call (a service, or readLinear/writeLinear/…Physical) that
   * returned `result`: a call that changed nothing (refused, or nothing to do) only read.
   */
  add(name: string, args: readonly unknown[], result: unknown, vm: boolean): void {
    if (this.all) return;
    const [a, b] = args;
    switch (name) {
      case '_CopyPageTable':
        return this.pages(this.reads, a, b);
      case '_XchgFreePhysReg': {
        const changed = result !== 0xffffffff && (b !== 0 || result !== 0);
        this.pages(changed ? this.writes : this.reads, a, 1);
        (changed ? this.writes : this.reads).push(R.frames, R.freeRegion);
        return;
      }
      case '_MapFreePhysReg':
      case '_UnmapFreePhysReg':
      case '_LinPageLock':
      case '_LinPageUnLock': {
        // With flags (PAGEMAPGLOBAL: an alias elsewhere, …) it may touch other pages.
        if (args[2] !== 0) return void (this.all = true);
        const changed = result !== 0;
        this.pages(changed ? this.writes : this.reads, a, b);
        (changed ? this.writes : this.reads).push(R.frames, R.freeRegion);
        return;
      }
      case 'readLinear':
      case 'writeLinear':
        return this.linear(name, a, b, vm);
      case 'readPhysical':
        return void this.reads.push(R.ram);
      case 'writePhysical':
        return void this.writes.push(R.ram);
      default:
        this.all = true;
    }
  }

  private linear(name: string, address: unknown, what: unknown, vm: boolean): void {
    if (vm || typeof address !== 'number') return void (this.all = true);
    const length = name === 'readLinear' ? Number(what) : (what as Uint8Array).length;
    const last = address + Math.max(length - 1, 0);
    // An access sets the Accessed (and Dirty) bits: it writes the PTEs it goes through.
    this.pages(this.writes, address >>> 12, (last >>> 12) - (address >>> 12) + 1);
    (name === 'readLinear' ? this.reads : this.writes).push(R.ram);
  }
}
