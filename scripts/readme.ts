/**
 * `npm run readme`: regenerates every output shown in README.md from the current code, so
 * none can drift. Each block under an `<!-- output … -->` marker (scripts/readme_blocks.ts)
 * gets what its command prints now, run in order in one scratch folder that has the
 * repository's scenarios/ and vmmsim installed (a link to this checkout), as a user's
 * project would. `npx vmmsim` runs the built CLI (dist/: build first). A command that exits
 * with anything but 0 or 1 stops the script and leaves README.md as it was.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blockBody, outputBlocks, spliceBlocks } from './readme_blocks.js';

const root = join(import.meta.dirname, '..');
const cli = join(root, 'dist', 'src', 'main', 'cli', 'bin.js');
const readmePath = join(root, 'README.md');

function scratchFolder(): string {
  const scratch = mkdtempSync(join(tmpdir(), 'vmmsim-readme-'));
  symlinkSync(join(root, 'scenarios'), join(scratch, 'scenarios'));
  mkdirSync(join(scratch, 'node_modules'));
  symlinkSync(root, join(scratch, 'node_modules', 'vmmsim'));
  return scratch;
}

function run(command: string, cwd: string, scratch: string): string {
  const shell = command.replace(/\bnpx vmmsim\b/g, `${JSON.stringify(process.execPath)} ${cli}`);
  const result = spawnSync('sh', ['-c', `${shell} 2>&1`], {
    cwd,
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
  });
  if (result.status !== 0 && result.status !== 1) {
    throw new Error(`"${command}" exited with ${result.status}:\n${result.stdout}`);
  }
  return result.stdout.split(scratch).join('.');
}

function main(): void {
  const readme = readFileSync(readmePath, 'utf8');
  const blocks = outputBlocks(readme);
  const scratch = scratchFolder();
  try {
    const bodies = blocks.map((block) => {
      process.stderr.write(`readme: ${block.command}\n`);
      const output = run(block.command, join(scratch, block.folder), scratch);
      return blockBody(block, output);
    });
    const next = spliceBlocks(readme, blocks, bodies);
    if (next !== readme) writeFileSync(readmePath, next);
    const changed = bodies.filter((body, i) => body !== blocks[i]!.body).length;
    process.stderr.write(`readme: ${blocks.length} outputs, ${changed} changed\n`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

main();
