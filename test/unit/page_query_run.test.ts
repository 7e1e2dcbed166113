// _PageQuery's run of pages against the plain definition: page by page from the queried one,
// while state, protection and block stay the same. The service skips what cannot differ (the
// block inside a block, whole page tables that do not exist); this says it skips nothing else.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createKernel,
  MBI_SIZE,
  MEM_COMMIT,
  MEM_FREE,
  MEM_RESERVE,
  PC_USER,
  PC_WRITEABLE,
  PD_ZEROINIT,
  PG_SYS,
  PR_PRIVATE,
  PR_SHARED,
  PR_SYSTEM,
  presets,
} from '../../src/index.js';
import { findBlockContaining } from '../../src/shared/blocks.js';
import { linearTaken } from '../../src/shared/linear.js';
import { readPte, spaceOf, SYSTEM_VM } from '../../src/shared/page_table.js';
import { ptePresent, pteUsed } from '../../src/shared/pte.js';
import type { Layout } from '../../src/shared/layout.js';

/** The state, protection bits and block of one page, computed the slow way. */
function pageInfo(l: Layout, page: number): string {
  const pte = readPte(l, SYSTEM_VM, page);
  if (!pteUsed(pte) && !linearTaken(l, SYSTEM_VM, page)) return `${MEM_FREE}`;
  const block = findBlockContaining(l, spaceOf(page, SYSTEM_VM), page);
  const state = ptePresent(pte) ? MEM_COMMIT : MEM_RESERVE;
  return `${state}:${ptePresent(pte) ? pte & 6 : 0}:${block}`;
}

function slowRunPages(l: Layout, first: number): number {
  const info = pageInfo(l, first);
  let end = first + 1;
  while (end < Math.min(0x100000, first + 0x40000) && pageInfo(l, end) === info) end++;
  return end - first;
}

describe('_PageQuery: the run of pages', () => {
  it('is the run the page-by-page definition gives, over random reserves, commits and frees', () => {
    const op = fc.record({
      what: fc.constantFrom('reserve', 'commit', 'allocate', 'free'),
      arena: fc.constantFrom(PR_PRIVATE, PR_SHARED, PR_SYSTEM),
      count: fc.integer({ min: 1, max: 40 }),
      pick: fc.nat(),
    });
    fc.assert(
      fc.property(fc.array(op, { minLength: 5, maxLength: 40 }), (ops) => {
        const kernel = createKernel({ ...presets.testMin, ramPages: 1024 });
        const dev = kernel.device('QUERY');
        for (const m of ['Sys_Critical_Init', 'Device_Init', 'Init_Complete'] as const)
          kernel.systemControl(m);
        const blocks: { base: number; count: number }[] = [];
        const freed: number[] = [];
        for (const { what, arena, count, pick } of ops) {
          const chosen = blocks[pick % Math.max(blocks.length, 1)];
          if (what === 'reserve') {
            const address = dev._PageReserve(arena, count, 0);
            if (address !== 0xffffffff) blocks.push({ base: address >>> 12, count });
          } else if (what === 'allocate') {
            const made = dev._PageAllocate(count, PG_SYS, 0, 0, 0, 0, 0, 0);
            if (made.eax !== 0) blocks.push({ base: made.eax >>> 12, count });
          } else if (chosen !== undefined && what === 'commit') {
            const from = chosen.base + (pick % chosen.count);
            const n = 1 + (pick % (chosen.base + chosen.count - from));
            dev._PageCommit(from, n, PD_ZEROINIT, 0, PC_USER | (pick % 2 ? PC_WRITEABLE : 0));
          } else if (chosen !== undefined) {
            dev._PageFree(chosen.base * 4096, 0);
            blocks.splice(blocks.indexOf(chosen), 1);
            freed.push(chosen.base);
          }
        }
        const l = kernel.layout;
        const probes = blocks.flatMap((b) => [b.base - 1, b.base, b.base + 1, b.base + b.count]);
        for (const page of [...probes, ...freed, 0x80000, 0x90000, 0xc0000, 0x500]) {
          const mbi = new Uint32Array(7);
          expect(dev._PageQuery(page * 4096, mbi, MBI_SIZE)).toBe(MBI_SIZE);
          expect(mbi[3]! / 4096, `run from page ${page.toString(16)}h`).toBe(slowRunPages(l, page));
        }
      }),
      { seed: 0x9a6e, numRuns: 25 },
    );
  });
});
