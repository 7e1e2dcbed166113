// Style is a test (STYLE.md, "tidy"): formatting, line and function length, and the ban
// list with the house alternative for each banned thing.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import * as prettier from 'prettier';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { HANDSHAKES } from '../../src/shared/protocol.js';

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

const PROTOCOL = 'src/shared/protocol.ts';

/** The modules that compose and write PTEs: helper C's PTE verbs live here. */
const PTE_OWNERS = ['src/shared/pte.ts', 'src/shared/page_table.ts'];

/**
 * Who owns which shared words (README, "Architecture"): only `owners` (and layout.ts, which
 * names them) may match `pattern`; everyone else uses `instead`. Matched on the code with its
 * comments removed.
 */
interface OwnershipRule {
  name: string;
  pattern: RegExp;
  owners: string[];
  instead: string;
}

const OWNERSHIP: OwnershipRule[] = [
  {
    name: 'actor record',
    pattern: /\*\s*ACTOR_WORDS\b|\+\s*AC\.\w/,
    owners: ['src/shared/actor_record.ts'],
    instead: 'actorLoad/actorStore/actorAdd/actorRead/… of src/shared/actor_record.ts',
  },
  {
    name: 'VM record',
    pattern: /\*\s*VM_WORDS\b|\+\s*VM\.\w/,
    owners: ['src/shared/vm_record.ts'],
    instead: 'vmLoad/vmStore/vmState/vmLive/vmSlot of src/shared/vm_record.ts',
  },
  {
    name: 'block record',
    pattern: /\*\s*BLOCK_WORDS\b|\+\s*BK\.\w/,
    owners: ['src/shared/blocks.ts'],
    instead: 'blockWord/blockState/setBlockWord of src/shared/blocks.ts',
  },
  {
    name: 'frame record',
    pattern: /\*\s*FRAME_WORDS\b|\+\s*FR\.\w/,
    owners: ['src/shared/frames.ts'],
    instead: 'frameState/frameOwner/setFrame/… of src/shared/frames.ts',
  },
  {
    name: 'free count',
    pattern: /\bH\.freeCount\b/,
    owners: ['src/shared/frames.ts'],
    instead: 'freeCount() of src/shared/frames.ts',
  },
  {
    name: 'lock words',
    pattern: /\*\s*LOCK_WORDS\b|\bLK\.\w|Atomics\.\w+\([^,]*\.locks\b/,
    owners: ['src/shared/lock.ts'],
    instead: 'lockHolder/lockEpoch/heldLocks/lockStats of src/shared/lock.ts',
  },
  {
    name: 'raw PTE write',
    pattern:
      /\bwritePteAt\(|\bramWords\[[^\]]+\]\s*([-+|&^]|<<|>>>?)?=(?!=)|Atomics\.\w+\([^,]*\bramWords\b/,
    owners: PTE_OWNERS,
    instead: `the PTE verbs of ${PTE_OWNERS.join(' / ')}`,
  },
  ...Object.entries(HANDSHAKES).flatMap(([name, h]) =>
    h.words.map((word) => handshakeRule(name, word)),
  ),
];

/** A word of a buffer handshake: only protocol.ts touches it (the Locker's fault countdown aside). */
function handshakeRule(name: string, word: string): OwnershipRule {
  const [record, field] = word.split('.') as [string, string];
  // the printer writes string literals with double quotes
  const byName = record === 'AC' ? `|\\bactor\\w*\\([^;]*"${field}"` : '';
  return {
    name: `${name} handshake (${word})`,
    pattern: new RegExp(`\\b${record}\\.${field}\\b${byName}`),
    owners: [PROTOCOL, ...(word === 'H.faultCountdown' ? ['src/shared/lock.ts'] : [])],
    instead: `the ${name} functions of src/shared/protocol.ts`,
  };
}

const printer = ts.createPrinter({ removeComments: true });

/** The code of a file without its comments. */
function code(file: string, text: string): string {
  return printer.printFile(ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, false));
}

/** The ownership rules `file` breaks. */
function ownershipBroken(file: string, text: string): string[] {
  if (file === 'src/shared/layout.ts') return [];
  const body = code(file, text);
  return OWNERSHIP.filter((r) => !r.owners.includes(file) && r.pattern.test(body)).map(
    (r) => r.name,
  );
}

/**
 * The layers (README, "Architecture"): src/shared runs on any thread and imports neither
 * src/workers nor src/main; src/workers imports src/shared only; in src/main the command line
 * is on top: runtime/ imports neither cli/ nor controlled/, controlled/ not cli/ and, but for
 * record.ts's types of a real-threads report, not runtime/. `typesFrom` may import what is
 * above it type-only (that loads nothing). protocol.ts, in src/shared, names no type above it:
 * what a crossing carries from higher layers is a type parameter they fill in.
 */
const LAYERS: { layer: string; mayNotImport: string[]; typesFrom?: string }[] = [
  { layer: 'src/shared/', mayNotImport: ['src/main/', 'src/workers/'] },
  { layer: 'src/workers/', mayNotImport: ['src/main/'] },
  { layer: 'src/main/runtime/', mayNotImport: ['src/main/cli/', 'src/main/controlled/'] },
  {
    layer: 'src/main/controlled/',
    mayNotImport: ['src/main/cli/', 'src/main/runtime/'],
    typesFrom: 'src/main/controlled/record.ts',
  },
];

/** The imports of `file` that run back up the layers. */
function layerBreaks(file: string, text: string): string[] {
  const rule = LAYERS.find((r) => file.startsWith(r.layer));
  if (rule === undefined) return [];
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, false);
  const found: string[] = [];
  for (const node of source.statements) {
    if (!ts.isImportDeclaration(node) && !ts.isExportDeclaration(node)) continue;
    const spec = node.moduleSpecifier;
    if (spec === undefined || !ts.isStringLiteral(spec) || !spec.text.startsWith('.')) continue;
    const target = normalize(join(dirname(file), spec.text));
    if (!rule.mayNotImport.some((up) => target.startsWith(up))) continue;
    const typeOnly = ts.isImportDeclaration(node)
      ? node.importClause?.isTypeOnly === true
      : node.isTypeOnly;
    if (!typeOnly || file !== rule.typesFrom) found.push(`${file} imports ${target}`);
  }
  return found;
}

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

  it('keeps every shared word with its owner (the ownership rules)', () => {
    const problems: string[] = [];
    for (const file of files) {
      for (const name of ownershipBroken(file, readFileSync(join(root, file), 'utf8'))) {
        const rule = OWNERSHIP.find((r) => r.name === name)!;
        problems.push(`${file}: ${name} outside its owner — use ${rule.instead}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('finds each ownership rule broken in a fixture, and not in a comment or in the owner', () => {
    const fixtures: [string, string][] = [
      ['actor record', 'const c = l.actors[actor * ACTOR_WORDS + AC.calls];'],
      ['actor record', 'const c = l.actors[base + AC.calls];'],
      ['VM record', 'const s = Atomics.load(l.vms, vm * VM_WORDS + VM.state);'],
      ['block record', 'l.blocks[index * BLOCK_WORDS + BK.state] = 2;'],
      ['frame record', 'const s = l.frames[frame * FRAME_WORDS + FR.state];'],
      ['free count', 'const free = Atomics.load(l.header, H.freeCount);'],
      ['lock words', 'const h = Atomics.load(layout.locks, id * 16) - 1;'],
      ['lock words', 'const e = view[base + LK.epoch];'],
      ['raw PTE write', 'writePteAt(l, index, 0);'],
      ['raw PTE write', 'l.ramWords[index] = pte;'],
      ['raw PTE write', 'l.ramWords[index] |= 0x20;'],
      ['stop handshake (H.stop)', 'Atomics.store(l.header, H.stop, 1);'],
      ['interrupt handshake (AC.pendingIrq)', 'actorAdd(l, actor, AC.pendingIrq, 1);'],
      ['pressure handshake (AC.pressureSeq)', 'futexWake(l.actors, base + AC.pressureSeq);'],
    ];
    for (const [name, line] of fixtures) {
      const rule = OWNERSHIP.find((r) => r.name === name)!;
      expect(ownershipBroken('src/workers/x.ts', line), line).toContain(name);
      expect(ownershipBroken('src/workers/x.ts', `// ${line}\n/* ${line} */`)).toEqual([]);
      expect(ownershipBroken(rule.owners[0]!, line), line).not.toContain(name);
    }
    expect(ownershipBroken('src/workers/x.ts', 'const pte = l.ramWords[index];')).toEqual([]);
    expect(ownershipBroken('src/workers/x.ts', 'if (l.ramWords[i] === 0) f();')).toEqual([]);
  });

  it('imports down the layers only: shared from nothing above it, workers from shared, …', () => {
    const problems = files.flatMap((f) => layerBreaks(f, readFileSync(join(root, f), 'utf8')));
    expect(problems).toEqual([]);
    const up = "import { spawnWorker } from '../workers/spawn.js';";
    expect(layerBreaks('src/shared/x.ts', up)).toEqual([
      'src/shared/x.ts imports src/workers/spawn.js',
    ]);
    expect(
      layerBreaks('src/workers/x.ts', "import { run } from '../main/runtime/soak.js';"),
    ).toHaveLength(1);
    const typeUp = "import type { HuntTask } from '../main/controlled/hunt_task.js';";
    expect(layerBreaks('src/shared/x.ts', typeUp)).toHaveLength(1);
    expect(layerBreaks(PROTOCOL, typeUp)).toHaveLength(1);
    const cli = "import { writeOut } from '../cli/race_output.js';";
    expect(layerBreaks('src/main/controlled/x.ts', cli)).toHaveLength(1);
    expect(layerBreaks('src/main/runtime/x.ts', cli)).toHaveLength(1);
    expect(
      layerBreaks('src/main/x.ts', "import { spawnWorker } from '../workers/spawn.js';"),
    ).toEqual([]);
  });
});
