/**
 * The arguments of the services fuzz: what each parameter of each service is (its role), the
 * fast-check arbitrary of one event, and how a drawn argument becomes a value — either fully
 * arbitrary (NaN, negative, huge, non-integer, strings, undefined, a BigInt) or plausible (a
 * handle, page, frame or VM handle that earlier calls returned, a real device address), so that
 * both the refusals and the success paths are reached. The checks are in oracle.ts.
 */
import fc from 'fast-check';
import {
  GVDADWordAlign,
  GVDAForceLow,
  GVDAHighSysCritOK,
  GVDAInquire,
  GVDAInstance,
  GVDAOptInstance,
  GVDAPageAlign,
  GVDAParaAlign,
  GVDAReclaim,
  GVDAWordAlign,
  GVDAZeroInit,
  ALWAYS_FIELD,
  INDOS_FIELD,
  MAPV86_IGNOREWRAP,
  OPTIONAL_FIELD,
  PAGELOCKEDIFDP,
  PAGEMAPGLOBAL,
  PAGEMARKDIRTY,
  PC_DIRTY,
  PC_FIXED,
  PC_INCR,
  PC_LOCKED,
  PC_LOCKEDIFDP,
  PC_PRESENT,
  PC_STATIC,
  PC_USER,
  PC_WRITEABLE,
  PD_FIXED,
  PD_FIXEDZERO,
  PD_NOINIT,
  PD_ZEROINIT,
  PG_HOOKED,
  PG_SYS,
  PG_VM,
  PR_4MEG,
  PR_FIXED,
  PR_PRIVATE,
  PR_SHARED,
  PR_STATIC,
  PR_SYSTEM,
  PageContig,
  PageDEBUGNulFault,
  PageFixed,
  PageLocked,
  PageLockedIfDP,
  PageMapFreePhysReg,
  PageMarkPageOut,
  PageNoCopy,
  PageUseAlign,
  PageZeroInit,
  PageZeroReInit,
  TVDANeedTilInitComplete,
} from '../../../src/index.js';

/** What a parameter is, which decides where its plausible values come from. */
export type Role =
  | 'count'
  | 'page'
  | 'linAddr'
  | 'reservePage'
  | 'handle'
  | 'vm'
  | 'v86Page'
  | 'physPage'
  | 'physAddr'
  | 'bytes'
  | 'flags'
  | 'pType'
  | 'alignMask'
  | 'offset'
  | 'buffer'
  | 'pmbi'
  | 'cbmbi'
  | 'instData'
  | 'callback'
  | 'hpd'
  | 'perm'
  | 'wild';

/** Every service of the table by its DDK name, with the role of each parameter in DDK order. */
export const ROLES: Readonly<Record<string, readonly Role[]>> = {
  Get_VMM_Reenter_Count: [],
  _PageAllocate: ['count', 'pType', 'vm', 'alignMask', 'physPage', 'physPage', 'buffer', 'flags'],
  _PageReAllocate: ['handle', 'count', 'flags'],
  _PageFree: ['handle', 'flags'],
  _PageLock: ['handle', 'count', 'offset', 'flags'],
  _PageUnLock: ['handle', 'count', 'offset', 'flags'],
  _GetFreePageCount: ['flags'],
  _MapIntoV86: ['handle', 'vm', 'v86Page', 'count', 'offset', 'flags'],
  _PhysIntoV86: ['physPage', 'vm', 'v86Page', 'count', 'flags'],
  _CopyPageTable: ['page', 'count', 'buffer', 'flags'],
  _LinMapIntoV86: ['page', 'vm', 'v86Page', 'count', 'flags'],
  _LinPageLock: ['page', 'count', 'flags'],
  _LinPageUnLock: ['page', 'count', 'flags'],
  _GetNulPageHandle: [],
  _MapPhysToLinear: ['physAddr', 'bytes', 'flags'],
  _AddInstanceItem: ['instData', 'flags'],
  _Allocate_Global_V86_Data_Area: ['bytes', 'flags'],
  _Allocate_Temp_V86_Data_Area: ['bytes', 'flags'],
  _Free_Temp_V86_Data_Area: [],
  _MapFreePhysReg: ['page', 'count', 'flags'],
  _UnmapFreePhysReg: ['page', 'count', 'flags'],
  _XchgFreePhysReg: ['page', 'physAddr', 'flags'],
  _SetFreePhysRegCalBk: ['callback', 'flags'],
  _PageReserve: ['reservePage', 'count', 'flags'],
  _PageCommit: ['page', 'count', 'hpd', 'wild', 'flags'],
  _PageDecommit: ['page', 'count', 'flags'],
  _PageModifyPermissions: ['page', 'count', 'perm', 'perm'],
  _PageQuery: ['linAddr', 'pmbi', 'cbmbi'],
};

/** The flag bits each service takes (the DDK's); any other bit is reserved. */
const FLAGS: Readonly<Record<string, readonly number[]>> = {
  _PageAllocate: [
    PageZeroInit,
    PageUseAlign,
    PageContig,
    PageFixed,
    PageLocked,
    PageLockedIfDP,
    PageMapFreePhysReg,
  ],
  _PageReAllocate: [PageZeroInit, PageZeroReInit, PageNoCopy, PageLocked, PageLockedIfDP],
  _PageLock: [PageLockedIfDP],
  _PageUnLock: [PageLockedIfDP, PageMarkPageOut],
  _MapIntoV86: [PageDEBUGNulFault, MAPV86_IGNOREWRAP],
  _PhysIntoV86: [MAPV86_IGNOREWRAP],
  _LinMapIntoV86: [MAPV86_IGNOREWRAP],
  _LinPageLock: [PAGELOCKEDIFDP, PAGEMAPGLOBAL, PAGEMARKDIRTY],
  _LinPageUnLock: [PAGELOCKEDIFDP, PAGEMAPGLOBAL, PageMarkPageOut],
  _Allocate_Global_V86_Data_Area: [
    GVDAWordAlign,
    GVDADWordAlign,
    GVDAParaAlign,
    GVDAPageAlign,
    GVDAInstance,
    GVDAZeroInit,
    GVDAReclaim,
    GVDAInquire,
    GVDAHighSysCritOK,
    GVDAOptInstance,
    GVDAForceLow,
  ],
  _Allocate_Temp_V86_Data_Area: [TVDANeedTilInitComplete],
  _MapFreePhysReg: [PageFixed],
  _PageReserve: [PR_FIXED, PR_4MEG, PR_STATIC],
  // The static flag a PR_STATIC reservation needs (the DDK pages say "must be zero").
  _PageDecommit: [PC_STATIC],
  _PageFree: [PC_STATIC],
  _PageCommit: [
    PC_FIXED,
    PC_LOCKED,
    PC_LOCKEDIFDP,
    PC_WRITEABLE,
    PC_USER,
    PC_STATIC,
    PC_DIRTY,
    PC_INCR,
    PC_PRESENT,
  ],
};

/** One drawn argument: a plausible value comes from `n` and `delta`, an arbitrary one is `wild`. */
export interface Draw {
  mode: number;
  n: number;
  delta: number;
  wild: unknown;
}

export type EventKind = 'service' | 'int31' | 'memory' | 'lifecycle';
export interface FuzzEvent {
  kind: EventKind;
  actor: number;
  service: number;
  /** 0 and 1: at interrupt time; 2: two interrupts deep; otherwise at task time. */
  interrupt: number;
  /**
   * Which arguments are fully arbitrary: below 4, each with one chance in two; below 6, one of
   * them; otherwise none (every argument plausible, so that success paths are reached).
   */
  wildness: number;
  args: Draw[];
}

/** Whether argument `i` of `count` is fully arbitrary in `event`. */
export function isWild(event: FuzzEvent, i: number, count: number): boolean {
  if (event.wildness < 4) return event.args[i]!.mode < 8;
  return event.wildness < 6 && i === (event.args[0]!.n >>> 8) % Math.max(1, count);
}

const WILD_CONSTANTS: readonly unknown[] = [
  0,
  -1,
  1,
  NaN,
  Infinity,
  -Infinity,
  0.5,
  -0.5,
  1.5,
  -0,
  0xfff,
  0x1000,
  0xfffff,
  0x100000,
  0x7fffffff,
  0x80000000,
  -0x80000000,
  0xffffffff,
  0x100000000,
  2 ** 53,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  '1',
  '4096',
  'abc',
  '',
  undefined,
  null,
  true,
  false,
  {},
  [],
  [1],
  1n,
  Symbol('wild'),
];

/** A fully arbitrary value: any number a register cannot hold, or no number at all. */
export const wildArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...WILD_CONSTANTS),
  fc.integer(),
  fc.integer({ min: -4, max: 0x120 }),
  fc.integer({ min: 0, max: 0xffffffff }),
  fc.double(),
);

const drawArb: fc.Arbitrary<Draw> = fc.record({
  mode: fc.nat(15),
  n: fc.noBias(fc.nat()), // picks from pools: small numbers would pick the first entries only
  delta: fc.integer({ min: -2, max: 2 }),
  wild: wildArb,
});

/**
 * One event. `boosted` are service indexes drawn more often: those whose success needs an
 * earlier success (a commit before a decommit, a lock before an unlock) or a rarer argument.
 */
export function eventArb(serviceCount: number, boosted: number[]): fc.Arbitrary<FuzzEvent> {
  const kinds: [EventKind, number][] = [
    ['service', 80],
    ['int31', 14],
    ['memory', 5],
    ['lifecycle', 1],
  ];
  return fc.record({
    kind: fc.oneof(...kinds.map(([kind, weight]) => ({ weight, arbitrary: fc.constant(kind) }))),
    actor: fc.nat(),
    service: fc.oneof(
      { weight: 3, arbitrary: fc.nat(serviceCount - 1) },
      { weight: 1, arbitrary: fc.constantFrom(...boosted) },
    ),
    interrupt: fc.nat(15),
    wildness: fc.nat(15),
    args: fc.array(drawArb, { minLength: 8, maxLength: 8 }),
  });
}

/** What the world offers the resolver: its pools of values earlier calls produced. */
export interface Pools {
  ramPages: number;
  handles: readonly number[];
  /** Handles _PageAllocate and _PageReAllocate returned (live or freed since). */
  allocHandles: readonly number[];
  pages: readonly number[];
  regionPages: readonly number[];
  reservedPages: readonly number[];
  v86SourcePages: readonly number[];
  vmHandles: readonly number[];
  frames: readonly number[];
  /** Frames (physical addresses) the calling actor holds out of a region. */
  held: readonly number[];
  /** Handles whose frames V86 mappings may borrow: the nul page and the pinned block. */
  v86Handles: readonly number[];
  /** A callback the calling actor can register. */
  callback: (request: number, count: number) => boolean;
}

export function pick(values: readonly number[], n: number, fallback: number): number {
  return values.length === 0 ? fallback : values[n % values.length]!;
}

const COUNTS = [1, 1, 1, 1, 2, 2, 3, 4, 5, 8, 16, 0];
const DEVICE_ADDRESSES = [0xa0000, 0xb8000, 0xc0000000, 0xc000f000, 0xe0000000, 0xe03ff000];
const DEVICE_PAGES = DEVICE_ADDRESSES.map((address) => address >>> 12);
const V86_PAGES = [0x0f, 0x10, 0x11, 0x40, 0x9f, 0xa0, 0xb8, 0xc0, 0xc4, 0xf0, 0xff, 0x100, 0x10f];
const BYTES = [1, 2, 16, 100, 0x1000, 0x1800, 0x3000, 0, 0x10000, 0xa0000];

function flagsFor(service: string, d: Draw): number {
  const allowed = FLAGS[service] ?? [];
  let flags = 0;
  allowed.forEach((flag, i) => {
    if ((d.n >>> (2 * i)) % 3 === 0 && (d.n & 0x3) !== 0) flags |= flag;
  });
  if (d.mode === 15) flags |= 1 << (d.delta + 2 + (d.n % 27)); // a reserved bit, now and then
  return flags >>> 0;
}

/** A plausible linear page number for `service`: regions for the region services, and so on. */
function pageFor(service: string, d: Draw, p: Pools): number {
  const regionService = /FreePhysReg$/.test(service);
  const fromRegion = regionService ? d.n % 8 !== 0 : d.n % 6 === 0;
  if (fromRegion) return pick(p.regionPages, d.n >>> 3, 0xc0000) + (d.n % 5 === 0 ? d.delta : 0);
  if (/^_Page(Commit|Decommit)$/.test(service) && d.n % 4 !== 0)
    return pick(p.reservedPages, d.n >>> 2, 0x80000) + (d.n % 7 === 0 ? d.delta : 0);
  if (service === '_LinMapIntoV86' && d.n % 3 !== 0)
    return pick(p.v86SourcePages, d.n >>> 2, 0x50) + (d.n % 9 === 0 ? d.delta : 0);
  if (d.n % 10 === 0) return pick(V86_PAGES, d.n >>> 4, 0x10);
  return pick(p.pages, d.n >>> 4, 0x80000) + (d.n % 5 === 0 ? d.delta : 0);
}

function physAddrFor(service: string, d: Draw, p: Pools): number {
  if (service === '_XchgFreePhysReg') {
    const which = d.n % 10;
    if (which < 5) return pick(p.held, d.n >>> 4, 0);
    if (which < 7) return 0;
    if (which < 9) return pick(p.frames, d.n >>> 4, 0x200000) + (which === 8 ? 0x10 : 0);
    return pick(DEVICE_ADDRESSES, d.n >>> 4, 0xa0000);
  }
  if (d.n % 4 === 0) return pick(p.frames, d.n >>> 2, 0x200000);
  return (pick(DEVICE_ADDRESSES, d.n >>> 2, 0xa0000) + (d.n % 3 === 0 ? d.n % 0x3000 : 0)) >>> 0;
}

function physPageFor(d: Draw, p: Pools): number {
  const which = d.n % 8;
  if (which < 4) return pick(DEVICE_PAGES, d.n >>> 3, 0xa0) + (d.n % 5 === 1 ? d.delta : 0);
  if (which < 6) return d.n % p.ramPages;
  if (which < 7) return pick(p.frames, d.n >>> 3, 0x200000) >>> 12;
  return 0xf0000 + (d.n % 0x1000);
}

function bufferFor(d: Draw): unknown {
  const which = d.n % 16;
  if (which === 0) return 0;
  if (which === 1) return [0, 0, 0, 0];
  if (which === 2) return new Int32Array(8);
  return new Uint32Array((d.n >>> 4) % 12);
}

function instDataFor(d: Draw): unknown {
  if (d.n % 8 === 0) return new Uint32Array(4);
  const types = [INDOS_FIELD, ALWAYS_FIELD, OPTIONAL_FIELD, ALWAYS_FIELD, 0x800];
  const data = new Uint32Array(5);
  data[2] = 0x400 + ((d.n >>> 3) % 0x200) * 16;
  data[3] = 1 + ((d.n >>> 12) % 0x400);
  data[4] = types[(d.n >>> 4) % types.length]!;
  if (d.n % 16 === 1) data[0] = 1;
  return data;
}

const RESERVE_PAGES = [PR_PRIVATE, PR_SHARED, PR_SYSTEM, PR_PRIVATE, PR_SHARED, PR_SYSTEM];
const PERMS = [0, 0xffffffff, PC_USER, PC_WRITEABLE, PC_USER | PC_WRITEABLE, PC_STATIC];

/** The arguments of one call of `service`: each wild or plausible, as the event says. */
export function resolveArgs(service: string, event: FuzzEvent, p: Pools): unknown[] {
  const roles = ROLES[service]!;
  const args = roles.map((role, i) =>
    isWild(event, i, roles.length) || role === 'wild'
      ? event.args[i]!.wild
      : plausible(role, service, event.args[i]!, p),
  );
  // _PageAllocate: a VM argument that goes with the page type, most of the time.
  if (service === '_PageAllocate' && !isWild(event, 2, roles.length) && event.args[2]!.n % 4 !== 0)
    args[2] = args[1] === PG_SYS ? 0 : pick(p.vmHandles, event.args[2]!.n >>> 2, 0);
  return args;
}

/** A plausible value for a parameter of `role`. */
function plausible(role: Role, service: string, d: Draw, p: Pools): unknown {
  switch (role) {
    case 'count':
      return d.n % 16 === 15 ? 1 + (d.n % 0x200) : COUNTS[d.n % COUNTS.length];
    case 'page':
      return pageFor(service, d, p);
    case 'linAddr':
      return (pageFor(service, d, p) * 4096 + (d.n % 3 === 0 ? d.n % 4096 : 0)) >>> 0;
    case 'reservePage':
      return d.n % 4 === 0 ? pageFor(service, d, p) : RESERVE_PAGES[d.n % RESERVE_PAGES.length];
    case 'handle':
      if (service === '_MapIntoV86' && d.n % 3 !== 0) return pick(p.v86Handles, d.n >>> 2, 0);
      if (d.n % 12 === 0) return pick(p.pages, d.n, 0) * 4096;
      return pick(d.n % 3 === 0 ? p.handles : p.allocHandles, d.n >>> 4, 0x1000);
    case 'vm':
      return pick(p.vmHandles, d.n, 0);
    case 'v86Page':
      return d.n % 4 === 0 ? pick(V86_PAGES, d.n >>> 2, 0x10) : 0xa0 + (d.n % 0x60);
    case 'physPage':
      return physPageFor(d, p);
    case 'physAddr':
      return physAddrFor(service, d, p);
    case 'bytes':
      return d.n % 8 === 0 ? d.n % 0x4000 : BYTES[(d.n >>> 3) % BYTES.length];
    case 'flags':
      return flagsFor(service, d);
    case 'pType':
      return [PG_SYS, PG_VM, PG_HOOKED, PG_SYS, 2, 8][d.n % 6];
    case 'alignMask':
      return [0, 0, 1, 3, 7, 0xf, 0x1f, 2][d.n % 8];
    case 'offset':
      return d.n % 3 === 0 ? 0 : d.n % 6;
    case 'buffer':
      return bufferFor(d);
    case 'pmbi':
      return d.n % 8 === 0 ? new Uint32Array(6) : new Uint32Array(7 + (d.n % 3));
    case 'cbmbi':
      return [28, 28, 28, 27, 0, 64][d.n % 6];
    case 'instData':
      return instDataFor(d);
    case 'callback':
      return d.n % 6 === 0 ? 'not a procedure' : p.callback;
    case 'hpd':
      return [PD_ZEROINIT, PD_NOINIT, PD_FIXEDZERO, PD_FIXED, 0, 5][d.n % 6];
    case 'perm':
      return PERMS[d.n % PERMS.length];
    case 'wild':
      return d.wild;
  }
}

/** The Int 31h functions the simulator supports; any other AX is "unsupported function". */
export const DPMI_FUNCTIONS = [0x0800, 0x0801, 0x0501, 0x0502, 0x0600, 0x0601] as const;
const DPMI_DRAW = [0x0800, 0x0800, 0x0801, 0x0501, 0x0501, 0x0502, 0x0600, 0x0601, 0x0601, -1];
const UNSUPPORTED = [0x0000, 0x0500, 0x0503, 0x0507, 0x0508, 0x0802, 0x0602, 0xffff, 0x8000];

/** What a VM's Int 31h draws from: its own blocks and mappings, and every linear page. */
export interface DpmiPools {
  handles: readonly number[];
  mappings: readonly number[];
  linear: readonly number[];
  frames: readonly number[];
}

type RegisterName = 'ax' | 'bx' | 'cx' | 'dx' | 'si' | 'di';
/** Registers as Int 31h returns them. */
export type RegisterValues = Record<RegisterName, number>;
/** Registers as the fuzz passes them: an arbitrary one need not be a number. */
export type DrawnRegisters = Record<RegisterName, unknown>;

/** The low 16 bits of a register as the simulator reads it: anything not a number reads as 0. */
export const reg16 = (value: unknown): number => (typeof value === 'number' ? value & 0xffff : 0);

const pairOf = (value: number): [number, number] => [(value >>> 16) & 0xffff, value & 0xffff];

/** BX:CX and SI:DI for one DPMI function, plausible: addresses and sizes that can succeed. */
function plausiblePairs(ax: number, d: Draw, p: DpmiPools): [number, number] {
  const size = d.n % 7 === 0 ? 0 : d.n % 11 === 0 ? 0xffffffff : 1 + (d.n % 0x6000);
  switch (ax) {
    case 0x0800: {
      const physical = d.n % 5 === 0 ? pick(p.frames, d.n, 0x200000) : d.n % 7 === 1 ? 0xa0000 : 0;
      const device = pick(DEVICE_ADDRESSES.slice(2), d.n >>> 3, 0xe0000000) + (d.n % 0x2000);
      return [physical === 0 ? device : physical, size];
    }
    case 0x0801:
      return [pick(p.mappings, d.n, 0x400000) + (d.n % 3 === 0 ? 0x1000 : 0), 0];
    case 0x0501:
      return [size, 0];
    case 0x0502:
      return [0, pick(p.handles, d.n, 0x400000) + (d.n % 9 === 0 ? 0x1000 : 0)];
    default:
      return [(pick(p.linear, d.n >>> 2, 0x400) * 4096 + (d.n % 0x1000)) >>> 0, size % 0x4000];
  }
}

/** The registers of one Int 31h call, from the event's draws (function, BX:CX, SI:DI, …). */
export function int31Registers(event: FuzzEvent, p: DpmiPools): DrawnRegisters {
  const draws = event.args;
  const [fn, first, second] = [draws[0]!, draws[1]!, draws[2]!];
  const drawn = DPMI_DRAW[fn.n % DPMI_DRAW.length]!;
  const ax = drawn >= 0 ? drawn : pick(UNSUPPORTED, fn.n >>> 4, 0) | (fn.n % 7 === 0 ? fn.n : 0);
  const [bxcx, sidi] = plausiblePairs(ax, first, p);
  const regs: DrawnRegisters = { ax, bx: 0, cx: 0, dx: 0, si: 0, di: 0 };
  [regs.bx, regs.cx] = pairOf(bxcx);
  [regs.si, regs.di] = pairOf(ax === 0x0800 && second.n % 4 === 0 ? second.n % 0x20000 : sidi);
  const names: RegisterName[] = ['ax', 'bx', 'cx', 'dx', 'si', 'di'];
  names.forEach((name, i) => {
    const d = draws[i + 2]!;
    if (isWild(event, i, names.length)) regs[name] = d.wild;
  });
  return regs;
}
