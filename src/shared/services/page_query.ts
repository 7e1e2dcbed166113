/**
 * _PageQuery(linaddr, pmbi, cbmbi) — Win95 (service 134h). Synchronous. The DDK page was not
 * found; this follows Win32 VirtualQuery, whose structure the VMM copies [I, reference §2.7].
 * Fills MEMORY_BASIC_INFORMATION (seven ULONGs: BaseAddress, AllocationBase,
 * AllocationProtect, RegionSize, State, Protect, Type) for the run of pages from linaddr's
 * page that share state, protection and allocation. Returns the bytes written (28), or 0
 * when pmbi is not a Uint32Array of 7 entries or cbmbi < 28.
 * Protection: PC_USER|PC_WRITEABLE → PAGE_READWRITE, PC_USER → PAGE_READONLY, no PC_USER →
 * PAGE_NOACCESS. MEM_FREE pages have AllocationBase, AllocationProtect, Protect, Type 0.
 */
import { blockWord, findBlockContaining } from '../blocks.js';
import {
  MBI_SIZE,
  MEM_COMMIT,
  MEM_FREE,
  MEM_PRIVATE,
  MEM_RESERVE,
  PAGE_NOACCESS,
  PAGE_READONLY,
  PAGE_READWRITE,
  P_USER,
  P_WRITE,
} from '../constants.js';
import type { Context } from '../context.js';
import { BK, LOCK_BLOCKS } from '../layout.js';
import { linearTaken, nextLinearTaken } from '../linear.js';
import { pteIndex, readPte, spaceOf } from '../page_table.js';
import { ptePresent, pteUsed } from '../pte.js';
import { fail0, isDword, type ServiceDef } from './service.js';

const protectOf = (pte: number): number =>
  (pte & P_USER) === 0 ? PAGE_NOACCESS : (pte & P_WRITE) !== 0 ? PAGE_READWRITE : PAGE_READONLY;

interface PageInfo {
  state: number;
  protect: number;
  block: number;
}

/** What `page` is; `block`, when given, is the block known to hold it (not looked up again). */
function infoOf(ctx: Context, page: number, block?: number): PageInfo {
  const pte = readPte(ctx.l, ctx.vm, page);
  const taken = pteUsed(pte) || linearTaken(ctx.l, ctx.vm, page);
  if (!taken) return { state: MEM_FREE, protect: 0, block: -1 };
  block ??= findBlockContaining(ctx.l, spaceOf(page, ctx.vm), page);
  if (!ptePresent(pte)) return { state: MEM_RESERVE, protect: 0, block };
  return { state: MEM_COMMIT, protect: protectOf(pte), block };
}

/**
 * The end of the run of pages from `first` that share `info`. Inside a block the block is not
 * looked up again; across a range with no page table only the linear bitmap can say a page is
 * taken, so a free run passes such a range a word at a time.
 */
function runEnd(ctx: Context, first: number, info: PageInfo): number {
  const l = ctx.l;
  const limit = Math.min(0x100000, first + 0x40000);
  const blockEnd =
    info.block < 0
      ? first
      : blockWord(l, info.block, BK.basePage) + blockWord(l, info.block, BK.pageCount);
  let end = first + 1;
  while (end < limit) {
    if (info.state === MEM_FREE && pteIndex(l, ctx.vm, end) < 0) {
      const tableEnd = Math.min(limit, (end | 0x3ff) + 1);
      const taken = nextLinearTaken(l, ctx.vm, end, tableEnd);
      if (taken === tableEnd) {
        end = tableEnd;
        continue;
      }
      end = taken;
    }
    const next = infoOf(ctx, end, end < blockEnd ? info.block : undefined);
    if (next.state !== info.state || next.protect !== info.protect || next.block !== info.block)
      break;
    end++;
  }
  return end;
}

export function pageQuery(ctx: Context, linaddr: number, pmbi: unknown, cbmbi: number): number {
  if (!isDword(linaddr)) return ctx.refuse(0, 'invalid linear address');
  if (!(pmbi instanceof Uint32Array) || pmbi.length < MBI_SIZE / 4)
    return ctx.refuse(0, 'pmbi buffer too small');
  if (!Number.isInteger(cbmbi) || cbmbi < MBI_SIZE)
    return ctx.refuse(0, 'cbmbi smaller than MEMORY_BASIC_INFORMATION');
  const first = linaddr >>> 12;
  ctx.locker.acquire(LOCK_BLOCKS); // keeps blocks from coming and going while the run is read
  const info = infoOf(ctx, first);
  const end = runEnd(ctx, first, info);
  ctx.locker.release(LOCK_BLOCKS);
  const free = info.state === MEM_FREE;
  const base = info.block >= 0 ? blockWord(ctx.l, info.block, BK.basePage) * 4096 : first * 4096;
  pmbi[0] = first * 4096;
  pmbi[1] = free ? 0 : base;
  pmbi[2] = free ? 0 : protectOf(blockWord(ctx.l, Math.max(info.block, 0), BK.perms));
  pmbi[3] = (end - first) * 4096;
  pmbi[4] = info.state;
  pmbi[5] = free ? 0 : info.protect;
  pmbi[6] = free ? 0 : MEM_PRIVATE;
  return MBI_SIZE;
}

export const _PageQuery: ServiceDef = {
  name: '_PageQuery',
  ordinal: 0x134,
  slot: -1,
  async: false,
  initOnly: false,
  failure: fail0,
  impl: pageQuery as ServiceDef['impl'],
};
