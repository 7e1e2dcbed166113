// The README's outputs come from `npm run readme` (scripts/readme.ts), never by hand: every
// block that shows what vmmsim prints sits under an output marker, a `$` block starts with
// its marker's command, and the splice puts each body back where it was.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blockBody, outputBlocks, spliceBlocks } from '../../scripts/readme_blocks.js';

const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');

/** Every fenced block of the README: where its body starts, and the body. */
function fencedBlocks(text: string): { start: number; body: string }[] {
  return [...text.matchAll(/^```[a-z]*\n([\s\S]*?)^```$/gm)].map((m) => ({
    start: m.index + m[0].indexOf('\n') + 1,
    body: m[1]!,
  }));
}

/** What vmmsim prints begins like one of these (a command's echo or a report's first line). */
const OUTPUT =
  /^(\$ npx vmmsim |vmmsim run: |hunt: |explore: |merge: |replay: |shrink: |init: |RUN FAILED)/;

describe('README outputs', () => {
  const blocks = outputBlocks(readme);

  it('has generated blocks for run, hunt, replay, shrink and init', () => {
    const commands = blocks.map((b) => b.command.split(' ').slice(0, 3).join(' '));
    for (const command of ['run', 'hunt', 'replay', 'shrink', 'init'])
      expect(commands).toContain(`npx vmmsim ${command}`);
  });

  it('puts every block of vmmsim output under a marker', () => {
    const generated = new Set(blocks.map((b) => b.bodyStart));
    const unmarked = fencedBlocks(readme).filter(
      (b) => OUTPUT.test(b.body) && !generated.has(b.start),
    );
    expect(unmarked.map((b) => b.body.split('\n')[0])).toEqual([]);
  });

  it("starts each $ block with its marker's command", () => {
    for (const block of blocks.filter((b) => b.showCommand))
      expect(block.body.split('\n')[0]).toBe(`$ ${block.command}`);
  });

  it('splices bodies back in place, and blockBody trims what a command printed', () => {
    expect(
      spliceBlocks(
        readme,
        blocks,
        blocks.map((b) => b.body),
      ),
    ).toBe(readme);
    const block = { ...blocks[0]!, showCommand: true, command: 'npx vmmsim run' };
    expect(blockBody(block, 'a  \nb\n\n')).toBe('$ npx vmmsim run\na\nb\n');
    expect(blockBody({ ...block, showCommand: false }, 'x\n')).toBe('x\n');
  });

  it('refuses a marker whose block is not closed', () => {
    expect(() => outputBlocks('<!-- output: npx vmmsim run -->\n```\nvmmsim run: x\n')).toThrow(
      'README: the block of "npx vmmsim run" is not closed',
    );
  });
});
