// The opt-in hostile-input suite (npm run test:stress): fast-check makes hundreds of broken
// and malicious scenario documents, scenario files, modules, replay files, machine options
// and option values. Each is either accepted or refused with the loader's own error
// (ScenarioError, ReplayFileError, OptionError, commander's InvalidArgumentError; exit code
// 2 on the CLI): never another exception, never a polluted prototype, never a hang (each is
// timed). A sample goes through the built CLI too.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { integer, outputFile, outputFolder, shard } from '../../src/main/cli/cli_options.js';
import { readReplayFile, ReplayFileError } from '../../src/main/controlled/replay_file.js';
import { limits, OptionError, presets } from '../../src/shared/config.js';
import { bufferBytes, checkMachine } from '../../src/shared/machine_size.js';
import {
  loadScenario,
  MODULE_LOAD_MS_MAX,
  readScenarioJson,
  ScenarioError,
} from '../../src/shared/scenario/load.js';

const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'src', 'main', 'cli', 'bin.js');
const scratch = mkdtempSync(join(tmpdir(), 'vmmsim-hostile-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Each input must be answered within this (the slowest seen is a few ms in-process). */
const ANSWER_MS_MAX = 2000;

const valid = {
  name: 'fuzz',
  machine: { ramPages: 1024, vmMax: 8, actorMax: 16, locking: 'fine' },
  budget: { calls: 1000, seconds: 5 },
  interrupts: { everyMs: 2 },
  devices: [
    { model: 'cache', name: 'CACHE', options: { regionPages: 8 } },
    { model: 'page-swap', initOrder: 5 },
  ],
  vms: [{ model: 'dos-vm', count: 2, options: {} }],
};

const deep = (depth: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { a: value };
  return value;
};

/** Values that go where they should not: odd numbers, strings, deep, huge and hostile ones. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    NaN,
    Infinity,
    -Infinity,
    -0,
    -1,
    0,
    0.5,
    1e300,
    2 ** 53,
    2 ** 32,
    1e9,
    -(2 ** 31),
  ),
  fc.double(),
  fc.integer(),
  fc.string({ maxLength: 40 }),
  fc.constantFrom('\u001b[31mred', '4096', '', 'global', 'cache', 'dos-vm', '__proto__'),
  fc.integer({ min: 17, max: 60 }).map(deep),
  fc.constant(JSON.parse('{"__proto__": {"polluted": 1}}') as unknown),
  fc.constant({ constructor: { prototype: { polluted: 1 } } }),
  fc.array(fc.constant({ model: 'cache' }), { maxLength: 300 }),
  fc.array(fc.constant({ model: 'dos-vm', count: 64 }), { maxLength: 80 }),
);

const paths: (string | number)[][] = [
  [],
  ['name'],
  ['description'],
  ['machine'],
  ['machine', 'ramPages'],
  ['machine', 'vmMax'],
  ['machine', 'actorMax'],
  ['machine', 'blockMax'],
  ['machine', 'vmV86Pages'],
  ['machine', 'locking'],
  ['machine', 'lockWaitMsMax'],
  ['budget', 'calls'],
  ['budget', 'seconds'],
  ['interrupts', 'everyMs'],
  ['devices'],
  ['devices', 0],
  ['devices', 0, 'model'],
  ['devices', 0, 'name'],
  ['devices', 0, 'initOrder'],
  ['devices', 0, 'options'],
  ['devices', 0, 'options', 'regionPages'],
  ['devices', 0, 'options', '__proto__'],
  ['devices', 1, 'options'],
  ['vms'],
  ['vms', 0, 'count'],
  ['vms', 0, 'options'],
  ['vms', 0, 'options', 'name'],
  ['__proto__'],
  ['constructor'],
  ['extra'],
];

/** Sets a value at a path, making own properties (so "__proto__" is a key, as JSON makes it). */
function mutate(doc: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const base = (doc !== null && typeof doc === 'object' ? structuredClone(doc) : {}) as Record<
    string | number,
    unknown
  >;
  const [key, ...rest] = path as [string | number, ...(string | number)[]];
  const child = mutate(base[key], rest, value);
  Object.defineProperty(base, key, { value: child, enumerable: true, writable: true });
  return base;
}

/** Values a scenario could hold, so that some edited documents are still accepted. */
const plausibleValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: 0, max: 5000 }),
  fc.constantFrom('fine', 'global', 'cache', 'dma', 'page-swap', 'v86-data', 'dos-vm', 'DEV'),
  fc.constantFrom({}, [], true),
);

const edited = (values: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> =>
  fc
    .array(fc.tuple(fc.constantFrom(...paths), values), { minLength: 1, maxLength: 3 })
    .map((edits) => edits.reduce<unknown>((doc, [path, value]) => mutate(doc, path, value), valid));

const hostileDocument: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 4 }), weight: 1 },
  { arbitrary: edited(hostileValue), weight: 2 },
  { arbitrary: edited(plausibleValue), weight: 2 },
);

/** Accepted, or refused by one of `errors`; in time; and Object.prototype untouched. */
async function answered(
  work: () => unknown,
  errors: (new (...args: never[]) => Error)[],
): Promise<'accepted' | 'refused'> {
  const started = performance.now();
  let outcome: 'accepted' | 'refused' = 'accepted';
  try {
    await work();
  } catch (error) {
    if (!errors.some((kind) => error instanceof kind)) throw error;
    outcome = 'refused';
  }
  expect(performance.now() - started).toBeLessThan(ANSWER_MS_MAX);
  expect('polluted' in {}).toBe(false);
  return outcome;
}

const tally = () => ({ accepted: 0, refused: 0 });

describe('hostile scenario documents, in-process', () => {
  it('600 documents: each accepted or a ScenarioError, in time', async () => {
    const seen = tally();
    await fc.assert(
      fc.asyncProperty(hostileDocument, async (doc) => {
        const source = { kind: 'json' as const, path: 'fuzz.json', json: doc };
        seen[await answered(() => loadScenario(source), [ScenarioError])] += 1;
      }),
      { numRuns: 600, seed: 6 },
    );
    console.log(`in-process: ${seen.accepted} accepted, ${seen.refused} refused`);
    expect(seen.accepted).toBeGreaterThan(10);
    expect(seen.refused).toBeGreaterThan(300);
  });

  it('300 file contents (text, bytes, documents): read and validated, or a ScenarioError', async () => {
    const contents = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
      hostileDocument.map((doc) => JSON.stringify(doc) ?? ''),
      hostileDocument.map((doc) => (JSON.stringify(doc) ?? '').slice(0, 30)),
    );
    const file = join(scratch, 'content.json');
    await fc.assert(
      fc.asyncProperty(contents, async (content) => {
        writeFileSync(file, content);
        const load = async () =>
          loadScenario({ kind: 'json', path: file, json: readScenarioJson(file) });
        await answered(load, [ScenarioError]);
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it('60 modules with hostile default exports: accepted or a ScenarioError', async () => {
    const device = '{ kind: "device", name: "D", initOrder: 1, create() { return {}; } }';
    const sources = fc.oneof(
      hostileDocument.map((doc) => `export default ${JSON.stringify(doc) ?? 'undefined'};`),
      hostileValue.map(
        (v) =>
          `export default { name: "m", devices: [${device}], vms: [], machine: ` +
          `${JSON.stringify({ ramPages: v }) ?? '{}'} };`,
      ),
      fc.constantFrom(
        'export default { get name() { throw null; } };',
        'throw 42;',
        'throw undefined;',
        'export default new Proxy({}, { get() { throw new Error("trap"); } });',
        `export default { name: "m", devices: Array(100000).fill(${device}), vms: [] };`,
        'export default { name: "m", devices: [], vms: [], machine: { ramPages: 1e12 } };',
        'export default Object.create(null);',
      ),
    );
    let index = 0;
    await fc.assert(
      fc.asyncProperty(sources, async (text) => {
        const path = join(scratch, `module${index++}.mjs`);
        writeFileSync(path, text);
        await answered(() => loadScenario({ kind: 'module', path }), [ScenarioError]);
      }),
      { numRuns: 60, seed: 8 },
    );
  });
});

describe('a module that never finishes loading', () => {
  it('is refused after MODULE_LOAD_MS_MAX, naming the file', async () => {
    const path = join(scratch, 'never.mjs');
    writeFileSync(path, 'await new Promise(() => {});\nexport default {};\n');
    const started = performance.now();
    await expect(loadScenario({ kind: 'module', path })).rejects.toThrow(
      /never\.mjs: the module did not finish loading in 20 s/,
    );
    expect(performance.now() - started).toBeGreaterThanOrEqual(MODULE_LOAD_MS_MAX - 100);
  }, 60_000);
});

describe('hostile machine options and option values, in-process', () => {
  it('500 machine option sets: resolved within the size limit, or an OptionError', async () => {
    const largest = bufferBytes({
      ...presets.standard,
      ramPages: limits.ramPagesMax,
      vmMax: limits.vmMaxMax,
      blockMax: limits.blockMaxMax,
      actorMax: limits.actorMaxMax,
      frameBufferPages: 4096,
    });
    const keys = ['ramPages', 'vmMax', 'blockMax', 'actorMax', 'vmV86Pages', 'lockWaitMsMax'];
    const options = fc.dictionary(
      fc.constantFrom(...keys, 'locking', 'frameBufferPages'),
      hostileValue,
    );
    await fc.assert(
      fc.asyncProperty(options, async (o) => {
        await answered(() => {
          const { bytes } = checkMachine(o);
          expect(bytes).toBeLessThanOrEqual(largest);
        }, [OptionError]);
      }),
      { numRuns: 500, seed: 9 },
    );
  });

  const numericText = fc.oneof(
    fc.string({ maxLength: 25 }),
    fc.integer().map(String),
    fc.double().map(String),
    fc.bigInt().map(String),
    fc.constantFrom('', ' 1', '1 ', '0x10', '1e3', '-0', '+1', '007', '1_000', '٣', 'Infinity'),
  );

  it('300 values for each numeric option: an integer in its range, or InvalidArgumentError', async () => {
    const specs: [string, number, number][] = [
      ['--calls', 1, 1_000_000_000],
      ['--seconds', 1, 86_400],
      ['--seed', 0, 0xffffffff],
      ['--vms', 0, 64],
      ['--runs', 1, 10_000_000],
    ];
    for (const [name, min, max] of specs) {
      await fc.assert(
        fc.asyncProperty(numericText, async (text) => {
          await answered(() => {
            const value = integer(name, min, max)(text);
            expect(Number.isSafeInteger(value) && value >= min && value <= max).toBe(true);
          }, [InvalidArgumentError]);
        }),
        { numRuns: 300, seed: 10 },
      );
    }
  });

  it('300 values each for --shard, output files and folders: accepted or InvalidArgumentError', async () => {
    const text = fc.oneof(
      numericText,
      fc.string({ maxLength: 30 }).map((s) => `${s}/${s}`),
    );
    const pathText = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.constantFrom('/', '.', '..', '/dev/null', '\0', 'a\0b', '/proc/self', scratch),
    );
    await fc.assert(
      fc.asyncProperty(text, pathText, async (s, p) => {
        await answered(() => {
          const { index, count } = shard(s);
          expect(index).toBeLessThan(count);
        }, [InvalidArgumentError]);
        await answered(() => outputFile('--report')(p), [InvalidArgumentError]);
        await answered(() => outputFolder('--out')(p), [InvalidArgumentError]);
      }),
      { numRuns: 300, seed: 11 },
    );
  });
});

describe('hostile replay files, in-process', () => {
  const replay = {
    format: 'vmmsim-replay',
    version: 2,
    scenario: { kind: 'module', path: 'x.ts', sha256: '0'.repeat(64), name: 'x' },
    scheduler: 'pct',
    seed: 1,
    options: { stepsMax: 10, checkEvery: 0, interruptPer1024: 0 },
    decisions: [0, 1, 1, 0],
    actorNames: ['A', 'B'],
    traceHash: '0c4d1898',
    failure: { kind: 'violation', message: 'm', step: 2 },
  };
  const fields: (string | number)[][] = [
    [],
    ['format'],
    ['version'],
    ['scenario'],
    ['scenario', 'path'],
    ['scenario', 'sha256'],
    ['scheduler'],
    ['seed'],
    ['options', 'stepsMax'],
    ['decisions'],
    ['decisions', 0],
    ['actorNames'],
    ['traceHash'],
    ['failure', 'kind'],
    ['failure', 'step'],
    ['__proto__'],
    ['extra'],
  ];

  it('400 replay files (mutated, truncated): read, or a ReplayFileError', async () => {
    const text = JSON.stringify(replay, null, 1);
    const files = fc.oneof(
      fc
        .array(fc.tuple(fc.constantFrom(...fields), hostileValue), { minLength: 1, maxLength: 3 })
        .map((edits) => edits.reduce<unknown>((doc, [f, v]) => mutate(doc, f, v), replay))
        .map((doc) => JSON.stringify(doc) ?? ''),
      fc.integer({ min: 0, max: text.length - 1 }).map((n) => text.slice(0, n)),
      fc.uint8Array({ maxLength: 100 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
    );
    const file = join(scratch, 'fuzz.replay.json');
    await fc.assert(
      fc.asyncProperty(files, async (content) => {
        writeFileSync(file, content);
        await answered(() => readReplayFile(file), [ReplayFileError]);
      }),
      { numRuns: 400, seed: 12 },
    );
  });
});

describe('a sample through the built CLI', () => {
  const outputs = join(scratch, 'cli-outputs');
  mkdirSync(outputs, { recursive: true });

  function vmmsim(args: string[]) {
    const result = spawnSync(process.execPath, [cli, ...args], {
      cwd: root,
      encoding: 'utf8',
      timeout: 90_000,
    });
    expect(result.error).toBeUndefined(); // not killed by the timeout: no hang
    return { code: result.status, out: result.stdout, err: result.stderr };
  }

  it('24 hostile documents: exit 2 with one sentence and no report, or a run with its report', () => {
    const docs = fc.sample(hostileDocument, { numRuns: 24, seed: 13 });
    let ran = 0;
    docs.forEach((doc, i) => {
      const file = join(scratch, `cli${i}.json`);
      writeFileSync(file, JSON.stringify(doc) ?? '');
      const report = join(outputs, `report${i}.json`);
      const args = ['run', file, '--calls', '300', '--seconds', '5', '--no-progress'];
      const { code, err } = vmmsim([...args, '--report', report]);
      expect([0, 1, 2]).toContain(code);
      if (code === 2) {
        expect(err.trim().split('\n')).toHaveLength(1);
        expect(err).toMatch(/^error: /);
        expect(existsSync(report)).toBe(false);
      } else {
        expect(JSON.parse(readFileSync(report, 'utf8'))).toHaveProperty('violations');
        ran += 1;
      }
    });
    console.log(`CLI sample: ${ran} of ${docs.length} documents accepted and run`);
    expect(ran).toBeGreaterThan(0);
  }, 600_000);

  it('24 refused option values: exit 2, one sentence naming the option, nothing written', () => {
    const refused = fc
      .sample(numericTextForCli(), { numRuns: 400, seed: 14 })
      .filter((text) => {
        try {
          integer('--calls', 1, 1_000_000_000)(text);
          return false;
        } catch {
          return !text.startsWith('-'); // "-x" would read as another option
        }
      })
      .slice(0, 24);
    for (const text of refused) {
      const { code, err, out } = vmmsim([
        'run',
        '--calls',
        text,
        '--report',
        join(outputs, 'refused.json'),
      ]);
      expect(err).toMatch(/--calls must be an integer from 1 to 1000000000/);
      expect(out).toBe('');
      expect(code).toBe(2);
      expect(existsSync(join(outputs, 'refused.json'))).toBe(false);
    }
  }, 120_000);
});

function numericTextForCli(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ minLength: 1, maxLength: 25 }),
    fc.double().map(String),
    fc.bigInt({ min: 10n ** 10n }).map(String),
    fc.constantFrom('0', '1.5', '1e3', '0x10', 'NaN', 'Infinity', '99999999999999999999'),
  );
}
