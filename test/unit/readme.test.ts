// The README's library example is a real program: this runs the first ```js block of the
// README with Node against the built package (import ... from 'vmmsim' resolves to dist/,
// as for a user) and expects the output block printed under it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

describe('README', () => {
  it('its library example runs from the built package and prints what the README shows', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const match = /```js\n([\s\S]*?)```\s*```\n([\s\S]*?)```/.exec(readme);
    expect(match).not.toBeNull();
    const [, code, expected] = match!;
    // Inside the package (not under node_modules) so that 'vmmsim' resolves to itself.
    const dir = mkdtempSync(join(root, '.tmp-readme-'));
    try {
      const file = join(dir, 'example.mjs');
      writeFileSync(file, code!);
      const output = execFileSync(process.execPath, [file], { cwd: root, encoding: 'utf8' });
      expect(output.trim()).toBe(expected!.trim());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('starts with the two commands: install and run, then test', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const first = /```sh\n([\s\S]*?)```/.exec(readme)![1]!;
    expect(first).toMatch(/^npm ci && npm start/m);
    expect(first).toMatch(/^npm test/m);
  });

  it('links only to files and folders of the repository that exist', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const targets = [...readme.matchAll(/\]\(([^)\s#]+)(#[^)]*)?\)/g)]
      .map((m) => m[1]!)
      .filter((t) => !/^[a-z]+:/.test(t));
    expect(targets.length).toBeGreaterThan(20);
    expect(targets.filter((t) => !existsSync(join(root, t)))).toEqual([]);
  });
});
