/**
 * The README's generated blocks: a marker comment, then the fenced block that holds what the
 * marker's command printed. `<!-- output: CMD -->` holds the output alone;
 * `<!-- output $: CMD -->` starts with the line `$ CMD`; `in=DIR` runs it in that folder:
 * `<!-- output $ in=my-sims: npx vmmsim hunt race.ts -->`. Parsing and splicing only; the
 * commands are run by scripts/readme.ts (`npm run readme`).
 */

export interface OutputBlock {
  /** The command as a user types it (`npx vmmsim …`; pipes allowed where not shown). */
  command: string;
  /** Whether the block shows `$ command` above the output. */
  showCommand: boolean;
  /** The folder to run it in, relative to the scratch folder ('' for the scratch folder). */
  folder: string;
  /** Character offsets of the fenced block's body (between the fences) in the README. */
  bodyStart: number;
  bodyEnd: number;
  /** The body as the README has it now. */
  body: string;
}

const MARKER = /<!-- output( \$)?(?: in=([\w.-]+))?: (.+?) -->\n```[a-z]*\n/g;

/** Every generated block, in order; throws naming the marker whose block is not closed. */
export function outputBlocks(readme: string): OutputBlock[] {
  const blocks: OutputBlock[] = [];
  for (const match of readme.matchAll(MARKER)) {
    const bodyStart = match.index + match[0].length;
    const close = readme.indexOf('\n```\n', bodyStart - 1);
    if (close < 0) throw new Error(`README: the block of "${match[3]}" is not closed`);
    const bodyEnd = close + 1;
    blocks.push({
      command: match[3]!,
      showCommand: match[1] !== undefined,
      folder: match[2] ?? '',
      bodyStart,
      bodyEnd,
      body: readme.slice(bodyStart, bodyEnd),
    });
  }
  return blocks;
}

/** The README with each block's body replaced by `bodies[i]` (each ends with a newline). */
export function spliceBlocks(readme: string, blocks: OutputBlock[], bodies: string[]): string {
  let out = '';
  let at = 0;
  blocks.forEach((block, i) => {
    out += readme.slice(at, block.bodyStart) + bodies[i]!;
    at = block.bodyEnd;
  });
  return out + readme.slice(at);
}

/** The body a block gets from its command's output. */
export function blockBody(block: OutputBlock, output: string): string {
  const lines = output
    .replace(/\s+$/, '')
    .split('\n')
    .map((line) => line.trimEnd());
  return `${[...(block.showCommand ? [`$ ${block.command}`] : []), ...lines].join('\n')}\n`;
}
