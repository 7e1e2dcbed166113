// Bad input, as a user meets it on the built CLI: malformed and hostile scenario files and
// modules, bad option values, broken replay files and absurd sizes are each exit code 2 and
// one sentence on stderr naming the field, the option or the file, found before any work
// starts: the --report, --trace, --record and --out given alongside are never written.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'src', 'main', 'cli', 'bin.js');
const scratch = mkdtempSync(join(tmpdir(), 'vmmsim-bad-input-'));
const outputs = join(scratch, 'outputs');
mkdirSync(outputs);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const run = promisify(execFile);

async function vmmsim(args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], {
      cwd: root,
      timeout: 60_000,
    });
    return { code: 0, out: stdout, err: stderr };
  } catch (error) {
    const e = error as { code?: number; stdout: string; stderr: string };
    return { code: e.code ?? -1, out: e.stdout, err: e.stderr };
  }
}

function file(name: string, content: string | Buffer | object): string {
  const path = join(scratch, name);
  const text = typeof content === 'string' || Buffer.isBuffer(content);
  writeFileSync(path, text ? content : JSON.stringify(content));
  return path;
}

const scenario = (extra: object = {}): object => ({
  name: 'x',
  devices: [{ model: 'cache' }],
  vms: [{ model: 'dos-vm' }],
  ...extra,
});

/** run with every output file asked for: none of them may appear. */
const runWithOutputs = (...args: string[]): string[] => [
  'run',
  ...args,
  '--report',
  join(outputs, 'report.json'),
  '--trace',
  join(outputs, 'trace.json'),
  '--record',
  join(outputs, 'record.replay.json'),
];

const folder = join(scratch, 'folder.json');
mkdirSync(folder);

const scenarioCases: [string, () => string[], RegExp][] = [
  ['not JSON', () => runWithOutputs(file('broken.json', '{ "name": ')), /not valid JSON/],
  [
    'binary junk',
    () => runWithOutputs(file('junk.json', Buffer.from([0x7b, 0, 0xff, 0xfe, 0x1b, 0x5b]))),
    /junk\.json: not JSON \(binary data\)/,
  ],
  ['an empty file', () => runWithOutputs(file('empty.json', '')), /empty\.json: the file is empty/],
  ['a folder', () => runWithOutputs(folder), /folder\.json: a folder, not a scenario file/],
  ['a missing file', () => runWithOutputs(join(scratch, 'nope.json')), /nope\.json: no such file/],
  [
    'JSON of the wrong type',
    () => runWithOutputs(file('array.json', [1, 2])),
    /\(top level\): Invalid input: expected object, received array/,
  ],
  [
    'an unknown key',
    () => runWithOutputs(file('key.json', scenario({ cpus: 4 }))),
    /Unrecognized key: "cpus"/,
  ],
  [
    'a __proto__ key in model options',
    () =>
      runWithOutputs(
        file(
          'proto.json',
          '{"name":"x","devices":[{"model":"cache","options":{"__proto__":{"x":1}}}],"vms":[]}',
        ),
      ),
    /devices\.0\.options\.__proto__: the key "__proto__" is not allowed/,
  ],
  [
    'a constructor key',
    () => runWithOutputs(file('ctor.json', scenario({ constructor: { name: 'y' } }))),
    /constructor: the key "constructor" is not allowed/,
  ],
  [
    'extremely deep nesting',
    () => runWithOutputs(file('deep.json', `${'['.repeat(50_000)}${']'.repeat(50_000)}`)),
    /nested deeper than 16 levels/,
  ],
  [
    'a huge array of devices',
    () =>
      runWithOutputs(
        file('devices.json', scenario({ devices: Array(10_000).fill({ model: 'cache' }) })),
      ),
    /devices: Too big: expected array to have <=64 items/,
  ],
  [
    'a file over 1 MiB',
    () => runWithOutputs(file('big.json', ' '.repeat(2 << 20))),
    /big\.json: 2,097,152 bytes \(2\.0 MiB\); a scenario file is at most 1,048,576 bytes/,
  ],
  [
    'a string where a number goes',
    () => runWithOutputs(file('string.json', scenario({ machine: { ramPages: '4096' } }))),
    /machine\.ramPages: Invalid input: expected number, received string/,
  ],
  [
    'a negative number',
    () => runWithOutputs(file('negative.json', scenario({ machine: { vmMax: -1 } }))),
    /machine\.vmMax must be an integer from 1 to 256, got -1/,
  ],
  [
    'a fractional number',
    () => runWithOutputs(file('fraction.json', scenario({ budget: { calls: 1.5 } }))),
    /budget\.calls: Invalid input: expected int, received number/,
  ],
  [
    'a number too big to be a number (1e400)',
    () => runWithOutputs(file('inf.json', '{"name":"x","machine":{"ramPages":1e400}}')),
    /machine\.ramPages: Invalid input: expected number, received Infinity/,
  ],
  [
    'ramPages beyond a SharedArrayBuffer the limit allows: the bytes asked for and the limit',
    () => runWithOutputs(file('ram.json', scenario({ machine: { ramPages: 1e9 } }))),
    /machine\.ramPages 1000000000 asks for a SharedArrayBuffer of 4,132,\d{3},\d{3},\d{3} bytes \(3848\.\d GiB\); the limit is ramPages 262144 \(1 GiB of RAM\), a buffer of [\d,]+ bytes/,
  ],
  [
    'thousands of VMs',
    () =>
      runWithOutputs(
        file('vms.json', scenario({ vms: Array(64).fill({ model: 'dos-vm', count: 64 }) })),
      ),
    /too many VMs \(4096\): the machine holds 31 besides the system VM \(machine\.vmMax is 32, at most 256\)/,
  ],
  [
    'more devices and VMs than the machine has actor slots',
    () =>
      runWithOutputs(
        file(
          'actors.json',
          scenario({ machine: { actorMax: 8 }, devices: Array(7).fill({ model: 'cache' }) }),
        ),
      ),
    /too many devices and VMs \(8\): machine\.actorMax \(8\) allows 6/,
  ],
  [
    'more worker threads than a run starts',
    () =>
      runWithOutputs(
        file(
          'threads.json',
          scenario({
            machine: { vmMax: 256, actorMax: 1024 },
            devices: Array.from({ length: 40 }, (_, i) => ({ model: 'dma', name: `D${i}` })),
            vms: [{ model: 'dos-vm', count: 40 }],
          }),
        ),
      ),
    /too many devices and VMs for real threads \(80\): .* at most 64/,
  ],
  [
    'a VM model among the devices',
    () => runWithOutputs(file('kind.json', scenario({ devices: [{ model: 'dos-vm' }] }))),
    /devices\.0\.model: dos-vm is a VM model, not a device/,
  ],
  [
    'a .ts module that throws on import',
    () => runWithOutputs(file('throws.ts', 'throw new Error("boom at import");\n')),
    /throws\.ts: the module cannot be loaded: boom at import/,
  ],
  [
    'a .ts module with a syntax error',
    () => runWithOutputs(file('syntax.ts', 'export default {\n  name: "x",\n  devices: [,\n')),
    /syntax\.ts: the module cannot be loaded: .*Unexpected end of file/,
  ],
  [
    'a module that exports the wrong shape',
    () => runWithOutputs(file('shape.mjs', 'export default 42;\n')),
    /shape\.mjs: the module has no default export \(use defineScenario\)/,
  ],
  [
    'a module with a bad budget',
    () =>
      runWithOutputs(
        file(
          'budget.mjs',
          'export default { name: "m", devices: [], vms: [], budget: { calls: -1 } };',
        ),
      ),
    /budget\.mjs: budget\.calls: Too small/,
  ],
  [
    'a module device not made with defineDevice',
    () =>
      runWithOutputs(file('device.mjs', 'export default { name: "m", devices: [{}], vms: [] };')),
    /device\.mjs: devices\.0\.kind: .*\(use defineDevice\)/,
  ],
  [
    'a file that is neither JSON nor a module',
    () => runWithOutputs(file('notes.txt', 'hello')),
    /notes\.txt: a scenario is a \.json file or a \.ts\/\.js module/,
  ],
];

const optionCases: [string, () => string[], RegExp][] = [
  ['--calls negative', () => runWithOutputs('--calls=-5'), /--calls must be an integer from 1/],
  ['--calls fractional', () => runWithOutputs('--calls', '1.5'), /--calls must be an integer/],
  ['--calls not a number', () => runWithOutputs('--calls', 'many'), /--calls must be an integer/],
  [
    '--calls absurdly large',
    () => runWithOutputs('--calls', '99999999999999999999'),
    /--calls must be an integer from 1 to 1000000000/,
  ],
  ['--seconds 0', () => runWithOutputs('--seconds', '0'), /--seconds must be an integer from 1/],
  ['--seed 2^32', () => runWithOutputs('--seed', '4294967296'), /--seed must be an integer/],
  ['--devices 0', () => runWithOutputs('--devices', '0'), /--devices must be an integer from 1/],
  ['--vms 65', () => runWithOutputs('--vms', '65'), /--vms must be an integer from 0 to 64/],
  ['--vms beyond the machine', () => runWithOutputs('--vms', '40'), /too many VMs \(40\)/],
  ['--hang-seconds 601', () => runWithOutputs('--hang-seconds', '601'), /--hang-seconds/],
  ['--locking coarse', () => runWithOutputs('--locking', 'coarse'), /--locking.*coarse/],
  [
    '--report in a folder that does not exist',
    () => ['run', '--report', join(scratch, 'no', 'such', 'r.json')],
    /--report .*r\.json: there is no folder/,
  ],
  ['--report a folder', () => ['run', '--report', outputs], /--report .* is a folder/],
  ['hunt --runs 0', () => ['hunt', '--runs', '0'], /--runs must be an integer from 1/],
  ['hunt --jobs 65', () => ['hunt', '--jobs', '65'], /--jobs must be an integer from 1 to 64/],
  ['hunt --shard 4/4', () => ['hunt', '--shard', '4/4'], /--shard must be i\/n/],
  ['hunt --shard 1/0', () => ['hunt', '--shard', '1/0'], /--shard must be i\/n/],
  ['hunt --scheduler fifo', () => ['hunt', '--scheduler', 'fifo'], /--scheduler.*fifo/],
  [
    'hunt --out a file',
    () => ['hunt', '--out', file('out-file', 'x'), '--report', join(outputs, 'hunt.json')],
    /--out .*out-file is a file, not a folder/,
  ],
  [
    'hunt with a bad scenario',
    () => [
      'hunt',
      file('hunt-ram.json', scenario({ machine: { ramPages: 100 } })),
      '--out',
      join(outputs, 'replays'),
      '--report',
      join(outputs, 'hunt.json'),
    ],
    /machine\.ramPages must be an integer from 384 to 262144, got 100/,
  ],
  ['stress --workers 0', () => ['stress', '--workers', '0'], /--workers must be an integer/],
  ['stress --ram-pages 10^9', () => ['stress', '--ram-pages', '1000000000'], /--ram-pages/],
];

const replay = {
  format: 'vmmsim-replay',
  version: 2,
  scenario: { kind: 'module', path: 'x.ts', sha256: '0'.repeat(64), name: 'x' },
  scheduler: 'pct',
  seed: 1,
  options: { stepsMax: 10, checkEvery: 0, interruptPer1024: 0 },
  decisions: [0, 1],
  actorNames: ['A', 'B'],
  traceHash: '0c4d1898',
  failure: { kind: 'violation', message: 'm', step: 2 },
};
const replayTrace = ['--trace', join(outputs, 'replay-trace.json')];

const replayCases: [string, () => string[], RegExp][] = [
  [
    'a truncated replay file',
    () => ['replay', file('cut.replay.json', JSON.stringify(replay).slice(0, 80)), ...replayTrace],
    /cut\.replay\.json: not a replay file \(not valid JSON, truncated\?/,
  ],
  [
    'foreign JSON as a replay file',
    () => ['replay', file('foreign.replay.json', { traceEvents: [] }), ...replayTrace],
    /foreign\.replay\.json: not a vmmsim replay file/,
  ],
  [
    'a replay file from a newer vmmsim',
    () => ['replay', file('v3.replay.json', { ...replay, version: 3 }), ...replayTrace],
    /version 3; this vmmsim reads version 2 \(the file was written by a newer vmmsim\)/,
  ],
  [
    'a replay file from an older vmmsim',
    () => ['replay', file('v0.replay.json', { ...replay, version: 0 }), ...replayTrace],
    /version 0; this vmmsim reads version 2 \(the file was written by an older vmmsim\)/,
  ],
  [
    'a replay file with a bad field',
    () => ['replay', file('field.replay.json', { ...replay, seed: -1 }), ...replayTrace],
    /field\.replay\.json: seed: Too small/,
  ],
  [
    'a folder as a replay file',
    () => ['replay', folder, ...replayTrace],
    /folder\.json: a folder, not a replay file/,
  ],
  [
    'shrink --out in a folder that does not exist',
    () => ['shrink', file('ok.replay.json', replay), '--out', join(scratch, 'nowhere', 's.json')],
    /--out .*s\.json: there is no folder/,
  ],
];

describe('bad input is exit 2, one sentence naming the problem, nothing written', () => {
  it.concurrent.each([...scenarioCases, ...optionCases, ...replayCases])(
    '%s',
    async (_title, args, message) => {
      const { code, err, out } = await vmmsim(args());
      expect(err).toMatch(message);
      expect(err.trim().split('\n')).toHaveLength(1); // one sentence
      expect(err).not.toMatch(/\n\s+at /); // no stack trace
      expect(err).not.toMatch(/\u001b/); // no terminal escapes from the input
      expect(out).toBe('');
      expect(code).toBe(2);
      expect(readdirSync(outputs)).toEqual([]);
    },
  );
});
