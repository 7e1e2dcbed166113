// Style is a test (STYLE.md, "tidy"): formatting, line and function length, and the ban
// list with the house alternative for each banned thing.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as prettier from 'prettier';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

const files = sourceFiles('src');

const BANNED: { pattern: RegExp; where: RegExp; instead: string; except?: RegExp }[] = [
  { pattern: /\bMath\.random\(/, where: /^src\//, instead: 'src/shared/prng.ts' },
  {
    pattern: /\bDate\.now\(/,
    where: /^src\/(shared|workers)\//,
    instead: 'no wall clock in replayable code',
  },
  {
    pattern: /\bAtomics\.(wait|notify|waitAsync)\(/,
    where: /^src\//,
    instead: 'src/shared/lock.ts',
    except: /src\/shared\/lock\.ts$/,
  },
  {
    pattern: /new SharedArrayBuffer\(/,
    where: /^src\//,
    instead: 'Layout.create',
    except: /src\/shared\/layout\.ts$/,
  },
  {
    pattern: /^\s*(export\s+)?(const\s+)?enum\s/m,
    where: /^src\//,
    instead: 'as const objects and unions',
  },
  {
    pattern: /:\s*any\b|<any>|as any\b/,
    where: /^src\/shared\//,
    instead: 'unknown, or a real type',
  },
];

function longFunctions(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const start = source.getLineAndCharacterOfPosition(node.getStart()).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      if (end - start + 1 > 70) found.push(`${file}:${start + 1} (${end - start + 1} lines)`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('tidy', () => {
  it('finds the sources', () => {
    expect(files.length).toBeGreaterThan(20);
  });

  it.each(files)('%s is formatted by prettier (100 columns)', async (file) => {
    const text = readFileSync(join(root, file), 'utf8');
    const options = await prettier.resolveConfig(join(root, file));
    expect(await prettier.check(text, { ...options, filepath: join(root, file) })).toBe(true);
  });

  it('has no line longer than 100 columns and no function longer than 70 lines', () => {
    const problems: string[] = [];
    for (const file of files) {
      const text = readFileSync(join(root, file), 'utf8');
      text.split('\n').forEach((line, i) => {
        if (line.length > 100) problems.push(`${file}:${i + 1} is ${line.length} columns`);
      });
      problems.push(...longFunctions(file, text));
    }
    expect(problems).toEqual([]);
  });

  it('uses the house alternative to every banned construct', () => {
    const problems: string[] = [];
    for (const file of files) {
      const text = readFileSync(join(root, file), 'utf8');
      for (const rule of BANNED) {
        if (!rule.where.test(file) || rule.except?.test(file)) continue;
        if (rule.pattern.test(text))
          problems.push(`${file}: ${rule.pattern} — use ${rule.instead}`);
      }
    }
    expect(problems).toEqual([]);
  });
});
