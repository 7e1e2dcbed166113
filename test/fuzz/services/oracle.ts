/**
 * What the services fuzz checks of one call, written from the DDK rather than read from the
 * service table: each service's failure value, the refusals the rules make certain (interrupt
 * time, init-only, Init_Complete, unsupported Int 31h functions), the DPMI error codes of each
 * function, and the tally of calls and refusals. Also the caller rules the checker is built to
 * catch (the DMA rule, V86 pages' own frames), so the fuzz does not break them on purpose.
 */
import { BLOCK_LIVE, blockState, blockWord, findBlock } from '../../../src/shared/blocks.js';
import { frameLockCount, frameOwner, frameState, isRamFrame } from '../../../src/shared/frames.js';
import { BK, BlockKind, FrameState, H, type Layout } from '../../../src/shared/layout.js';
import { vmOfHandle } from '../../../src/shared/machine.js';
import { readPte, spaceOf } from '../../../src/shared/page_table.js';
import { pteFrame, ptePresent } from '../../../src/shared/pte.js';
import { regionOf } from '../../../src/shared/services/region.js';
import {
  DPMI_INVALID_HANDLE,
  DPMI_INVALID_LINEAR_ADDRESS,
  DPMI_INVALID_STATE,
  DPMI_INVALID_VALUE,
  DPMI_LINEAR_MEMORY_UNAVAILABLE,
  DPMI_LOCK_COUNT_EXCEEDED,
  DPMI_PHYSICAL_MEMORY_UNAVAILABLE,
  DPMI_RESOURCE_UNAVAILABLE,
  DPMI_SYSTEM_INTEGRITY,
  DPMI_UNSUPPORTED_FUNCTION,
  GVDAInquire,
  PageMapFreePhysReg,
} from '../../../src/index.js';

const PAIR = { eax: 0, edx: 0 };
const DWORD = 0xffffffff;

/** The DDK's failure value of every service (reference §2), independent of the service table. */
export const DDK_FAILURE: Readonly<Record<string, unknown>> = {
  Get_VMM_Reenter_Count: 0,
  _PageAllocate: PAIR,
  _PageReAllocate: PAIR,
  _PageFree: 0,
  _PageLock: 0,
  _PageUnLock: 0,
  _GetFreePageCount: PAIR,
  _MapIntoV86: 0,
  _PhysIntoV86: 0,
  _CopyPageTable: 0,
  _LinMapIntoV86: PAIR,
  _LinPageLock: 0,
  _LinPageUnLock: 0,
  _GetNulPageHandle: 0,
  _MapPhysToLinear: DWORD,
  _AddInstanceItem: 0,
  _Allocate_Global_V86_Data_Area: 0,
  _Allocate_Temp_V86_Data_Area: 0,
  _Free_Temp_V86_Data_Area: 0,
  _MapFreePhysReg: 0,
  _UnmapFreePhysReg: 0,
  _XchgFreePhysReg: DWORD,
  _SetFreePhysRegCalBk: 0,
  _PageReserve: DWORD,
  _PageCommit: 0,
  _PageDecommit: 0,
  _PageModifyPermissions: DWORD,
  _PageQuery: 0,
};

/** The error codes each supported Int 31h function may return (DPMI 1.0; 8010h from any). */
export const DPMI_ERRORS: Readonly<Record<number, readonly number[]>> = {
  0x0800: [DPMI_SYSTEM_INTEGRITY, DPMI_INVALID_VALUE, DPMI_LINEAR_MEMORY_UNAVAILABLE],
  0x0801: [DPMI_INVALID_LINEAR_ADDRESS],
  0x0501: [DPMI_INVALID_VALUE, DPMI_LINEAR_MEMORY_UNAVAILABLE, DPMI_PHYSICAL_MEMORY_UNAVAILABLE],
  0x0502: [DPMI_INVALID_HANDLE],
  0x0600: [DPMI_INVALID_LINEAR_ADDRESS, DPMI_PHYSICAL_MEMORY_UNAVAILABLE, DPMI_LOCK_COUNT_EXCEEDED],
  0x0601: [DPMI_INVALID_STATE, DPMI_INVALID_LINEAR_ADDRESS],
};
/** Int 31h refused outright (interrupt time): CF set, AX 8002h, the other registers 0. */
export const INT31_REFUSED = { ax: DPMI_INVALID_STATE, bx: 0, cx: 0, dx: 0, si: 0, di: 0, cf: 1 };
export { DPMI_RESOURCE_UNAVAILABLE, DPMI_UNSUPPORTED_FUNCTION };

export const INTERRUPT_REASON = 'Synchronous service called from a nested interrupt';
export const INIT_ONLY_REASON = 'only available during initialization';

/** Plain structural equality of results: numbers, and objects of numbers. */
export function sameResult(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null)
    return Object.is(a, b) || a === b;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) {
    const x = (a as Record<string, unknown>)[key];
    const y = (b as Record<string, unknown>)[key];
    if (!(x === y || (Number.isNaN(x) && Number.isNaN(y)))) return false;
  }
  return true;
}

const isDword = (value: unknown): boolean =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= DWORD;

/** Whether a service's result has the shape the DDK gives it: a dword, or two of them. */
export function wellFormed(name: string, result: unknown): boolean {
  if (typeof DDK_FAILURE[name] === 'number') return isDword(result);
  if (typeof result !== 'object' || result === null) return false;
  const pair = result as Record<string, unknown>;
  return isDword(pair.eax) && isDword(pair.edx) && Object.keys(pair).length === 2;
}

/**
 * Whether a result equal to the failure value must have come with a refusal: not where a
 * success can read the same (a reenter count of 0, no free page, no room left to inquire).
 */
export function failureMeansRefusal(name: string, args: readonly unknown[]): boolean {
  if (name === 'Get_VMM_Reenter_Count' || name === '_GetFreePageCount') return false;
  if (name === '_Allocate_Global_V86_Data_Area') {
    const flags = args[1];
    return !(typeof flags === 'number' && (flags & GVDAInquire) !== 0);
  }
  return true;
}

/** What the rules make certain about a call before it is made: refused, and why. */
export interface RefusalRule {
  /** The reason, when the rule names one; '' when any reason will do. */
  reason: string;
  rule: string;
}

export interface CallSituation {
  name: string;
  async: boolean;
  initOnly: boolean;
  interruptDepth: number;
  inInitialization: boolean;
  /** A device that has not yet received Init_Complete (seed 000). */
  deviceBeforeInitComplete: boolean;
  args: readonly unknown[];
}

export function certainRefusal(s: CallSituation): RefusalRule | undefined {
  if (s.interruptDepth > 0 && !s.async)
    return { reason: INTERRUPT_REASON, rule: 'synchronous service at interrupt time' };
  if (s.interruptDepth > 0) return undefined;
  if (s.initOnly && !s.inInitialization)
    return { reason: INIT_ONLY_REASON, rule: 'init-only service outside initialization' };
  if (/^_(Unm|M)apFreePhysReg$/.test(s.name) && s.deviceBeforeInitComplete)
    return { reason: '', rule: 'region service before the device received Init_Complete' };
  const flags = s.args[7];
  if (
    s.name === '_PageAllocate' &&
    !s.inInitialization &&
    typeof flags === 'number' &&
    (flags & PageMapFreePhysReg) !== 0
  )
    return { reason: '', rule: 'free physical region outside initialization' };
  return undefined;
}

/** Calls, refusals and successes per service (DDK name, or "Int 31h 0800h" and so on). */
export class Tally {
  readonly services = new Map<string, ServiceTally>();
  readonly phases = new Map<string, number>();
  readonly misuseSkipped = new Map<string, number>();
  /** Calls whose refusal a nested callback call on the same context took over (context.ts). */
  clobbered = 0;
  createVmRefused = 0;
  pageFaults = 0;

  of(name: string): ServiceTally {
    let entry = this.services.get(name);
    if (entry === undefined) {
      entry = { calls: 0, refusals: 0, successes: 0, atInterrupt: 0, certainRefusals: 0 };
      this.services.set(name, entry);
    }
    return entry;
  }

  count(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  get totalCalls(): number {
    let total = 0;
    for (const entry of this.services.values()) total += entry.calls;
    return total;
  }

  get totalRefusals(): number {
    let total = 0;
    for (const entry of this.services.values()) total += entry.refusals;
    return total;
  }

  /** A table for a person, one service a line. */
  format(): string {
    const rows = [...this.services].sort(([a], [b]) => a.localeCompare(b));
    const column = (n: number, width: number): string => String(n).padStart(width);
    const lines = rows.map(
      ([name, t]) =>
        `${name.padEnd(32)} ${column(t.calls, 8)} calls ${column(t.refusals, 8)} refused ` +
        `${column(t.successes, 7)} ok ${column(t.atInterrupt, 6)} irq`,
    );
    let skipped = 0;
    for (const count of this.misuseSkipped.values()) skipped += count;
    const totals =
      `total ${this.totalCalls} calls, ${this.totalRefusals} refused; ${skipped} skipped ` +
      `(caller rules); ${this.clobbered} refusals recorded under a nested callback's service; ` +
      `${this.pageFaults} page faults; ${this.createVmRefused} createVM refused`;
    return [...lines, totals].join('\n');
  }
}

export interface ServiceTally {
  calls: number;
  refusals: number;
  successes: number;
  atInterrupt: number;
  certainRefusals: number;
}

// ---- caller rules the checker is built to catch: the fuzz keeps to them

/** What the misuse rules need to know of the world beyond the buffer. */
export interface MisuseContext {
  l: Layout;
  /** The current VM of the caller (the system VM, 0, for a device). */
  callerVm: number;
  /** Block index of the PG_SYS block the V86 mappings may borrow frames from (never freed). */
  pinnedBlock: number;
  pinnedHandle: number;
  /** The region the fuzz keeps for putting held frames back at the end. */
  spare: { first: number; count: number };
}

const integer = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value);

function overlapsSpare(m: MisuseContext, first: unknown, count: unknown): boolean {
  if (!integer(first) || !integer(count) || count <= 0 || count > 0x1000) return false;
  return first < m.spare.first + m.spare.count && m.spare.first < first + count;
}

/**
 * Whether a live global alias (_LinPageLock PAGEMAPGLOBAL) maps one of the pages, as `vm` sees
 * them. Its lock keeps the frames in place, unless another caller unlocked the pages once too
 * often: then moving or freeing them would leave the alias on a frame that is not theirs.
 */
function aliased(m: MisuseContext, first: number, count: number, vm: number): boolean {
  const l = m.l;
  if (Atomics.load(l.header, H.aliasCount) === 0) return false;
  const space = spaceOf(first, vm);
  for (let block = 0; block < l.options.blockMax; block++) {
    if (blockState(l, block) !== BLOCK_LIVE) continue;
    if (blockWord(l, block, BK.kind) !== BlockKind.GLOBAL_ALIAS) continue;
    if (blockWord(l, block, BK.vm) !== space) continue;
    const source = blockWord(l, block, BK.physPage);
    if (source < first + count && first < source + blockWord(l, block, BK.pageCount)) return true;
  }
  return false;
}

/** The region-page rules: the DMA rule, aliases of the page, the spare region. */
function regionMisuse(
  m: MisuseContext,
  name: string,
  args: readonly unknown[],
): string | undefined {
  const [first, second] = args;
  const count = name === '_XchgFreePhysReg' ? 1 : second;
  if (overlapsSpare(m, first, count)) return 'the spare region is kept for the end';
  if (!integer(first) || !integer(count) || count <= 0 || count > 0x1000) return undefined;
  if (name !== '_XchgFreePhysReg' && name !== '_UnmapFreePhysReg') return undefined;
  if (aliased(m, first, count, 0)) return 'a global alias maps the page (its lock was unlocked)';
  if (name !== '_XchgFreePhysReg' || first >= 0x100000 || regionOf(m.l, first) < 0)
    return undefined;
  const pte = readPte(m.l, 0, first);
  if (ptePresent(pte) && frameLockCount(m.l, pteFrame(pte)) > 0)
    return 'the DMA rule: the page is locked';
  return undefined;
}

/** A V86 page whose PTE holds the VM's own frame: replacing it would lose the frame. */
function ownsV86Frame(m: MisuseContext, vm: number, page: number): boolean {
  const pte = readPte(m.l, vm, page);
  if (!ptePresent(pte) || !isRamFrame(m.l, pteFrame(pte))) return false;
  const frame = pteFrame(pte);
  if (frameState(m.l, frame) !== FrameState.BLOCK) return false;
  const owner = frameOwner(m.l, frame);
  return blockWord(m.l, owner, BK.kind) === BlockKind.V86 && blockWord(m.l, owner, BK.space) === vm;
}

/** A frame a V86 mapping may borrow: device memory, the nul page, or the pinned block's. */
function borrowable(m: MisuseContext, frame: number): boolean {
  if (!isRamFrame(m.l, frame) || frame === m.l.header[H.nulFrame]) return true;
  return frameState(m.l, frame) === FrameState.BLOCK && frameOwner(m.l, frame) === m.pinnedBlock;
}

const V86_ROLES: Readonly<Record<string, { vm: number; page: number; count: number }>> = {
  _PhysIntoV86: { vm: 1, page: 2, count: 3 },
  _MapIntoV86: { vm: 1, page: 2, count: 3 },
  _LinMapIntoV86: { vm: 1, page: 2, count: 3 },
};

/** _PhysIntoV86, _MapIntoV86, _LinMapIntoV86: never over a VM's own frame, only lasting frames. */
function v86Misuse(m: MisuseContext, name: string, args: readonly unknown[]): string | undefined {
  const where = V86_ROLES[name]!;
  const [vmHandle, page, count] = [args[where.vm], args[where.page], args[where.count]];
  if (!integer(page) || !integer(count) || count <= 0 || page < 0x10 || page + count > 0x110)
    return undefined;
  const vm = isDword(vmHandle) ? vmOfHandle(m.l, vmHandle as number) : -1;
  if (vm < 0) return undefined;
  for (let i = 0; i < count; i++)
    if (ownsV86Frame(m, vm, page + i)) return "a V86 page's own frame would be lost";
  const source = args[0];
  if (name === '_PhysIntoV86') {
    for (let i = 0; i < count && integer(source); i++)
      if (!borrowable(m, source + i)) return 'a RAM frame that can be freed under the mapping';
    return undefined;
  }
  if (name === '_MapIntoV86') {
    if (!isDword(source) || (source as number) % 4096 !== 0) return undefined;
    const first = (source as number) >>> 12;
    const block = findBlock(m.l, spaceOf(first, m.callerVm), first);
    const kind = block < 0 ? -1 : blockWord(m.l, block, BK.kind);
    return kind === BlockKind.ALLOCATION && block !== m.pinnedBlock
      ? 'a block that can be freed under the mapping'
      : undefined;
  }
  for (let i = 0; i < count && integer(source) && source > 0x100; i++) {
    if (source + i >= 0x100000) break;
    const pte = readPte(m.l, m.callerVm, source + i);
    if (ptePresent(pte) && !borrowable(m, pteFrame(pte)))
      return 'a frame that can be freed or moved under the mapping';
  }
  return undefined;
}

/**
 * Why a call would break a caller rule that the checker exists to report (so a violation would
 * be the fuzz's fault, not the kernel's), or undefined. Conservative: in doubt, a reason.
 */
export function misuse(
  m: MisuseContext,
  name: string,
  args: readonly unknown[],
): string | undefined {
  if (/^_(Unm|M|Xchg)\w*FreePhysReg$/.test(name) || /^_LinPage(Lock|UnLock)$/.test(name))
    return regionMisuse(m, name, args);
  if (name === '_PageDecommit') {
    const [first, count] = args;
    const valid = integer(first) && integer(count) && count > 0 && count <= 0x1000;
    if (valid && aliased(m, first, count, m.callerVm))
      return 'a global alias maps the page (its lock was unlocked)';
  }
  if ((name === '_PageFree' || name === '_PageReAllocate') && args[0] === m.pinnedHandle)
    return 'the pinned block lends its frames to V86 mappings';
  if (name in V86_ROLES) return v86Misuse(m, name, args);
  return undefined;
}

/** Int 31h 0600h/0601h over the spare region. */
export function dpmiMisuse(m: MisuseContext, ax: number, linear: number, size: number): boolean {
  if (ax !== 0x0600 && ax !== 0x0601) return false;
  const first = Math.floor(linear / 4096);
  const count = size === 0 ? 0 : Math.floor((linear + size - 1) / 4096) - first + 1;
  return overlapsSpare(m, first, count);
}
