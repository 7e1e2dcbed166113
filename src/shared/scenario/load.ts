/**
 * Turns a scenario source into a ScenarioDefinition, the same way in the coordinator and in
 * every worker: a TypeScript or JavaScript module (its default export, built with
 * defineScenario), or JSON naming built-in models with options. JSON is validated with zod
 * and every problem is reported with the path of the field; so are a module's machine, budget
 * and lists. Every limit a scenario meets (file size, nesting, machine size, how many devices
 * and VMs) is checked here, before any worker starts. It does not run anything.
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync } from 'node:fs';
import * as z from './schema.js';
import {
  LockingPolicies,
  LockOrderModes,
  limits,
  type MachineOptions,
  OptionError,
} from '../config.js';
import { checkMachine, formatBytes } from '../machine_size.js';
import { printable } from '../printable.js';
import type { ScenarioSource } from '../protocol.js';
import type { DeviceDefinition, ScenarioDefinition, VmDefinition } from './scenario.js';
import { builtinModels, modelOptionSchemas } from './models/index.js';
import { firstLine, importScenario, MODULE_LOAD_MS_MAX } from './import_module.js';
import { ScenarioError } from './scenario_error.js';

/** A JSON scenario file is a few KiB; a bigger one is refused before it is read. */
export const SCENARIO_FILE_BYTES_MAX = 1 << 20;
/** A scenario needs five levels of nesting; deeper JSON is refused before it is validated. */
export const SCENARIO_DEPTH_MAX = 16;
export { MODULE_LOAD_MS_MAX };
/** Keys that could reach an object's prototype; refused anywhere in a JSON scenario. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
export { printable };

export { ScenarioError };

const modelName = z.enum(Object.keys(builtinModels) as [string, ...string[]]);

const machineSchema = z.strictObject({
  ramPages: z.optional(z.number().check(z.int())),
  vmMax: z.optional(z.number().check(z.int())),
  blockMax: z.optional(z.number().check(z.int())),
  actorMax: z.optional(z.number().check(z.int())),
  vmV86Pages: z.optional(z.number().check(z.int())),
  locking: z.optional(z.enum(LockingPolicies)),
  lockWaitMsMax: z.optional(z.number().check(z.int())),
  lockOrder: z.optional(z.enum(LockOrderModes)),
  frameBufferPages: z.optional(z.number().check(z.int())),
});
const budgetSchema = z.strictObject({
  calls: z.optional(z.number().check(z.int(), z.positive(), z.maximum(1e9))),
  seconds: z.optional(z.number().check(z.positive(), z.maximum(86_400))),
});
const interruptsSchema = z.strictObject({
  everyMs: z.number().check(z.positive(), z.maximum(60_000)),
});

const jsonSchema = z.strictObject({
  name: z.textOf(1, 200),
  description: z.optional(z.string().check(z.maxLength(10_000))),
  machine: z.optional(machineSchema),
  budget: z.optional(budgetSchema),
  interrupts: z.optional(interruptsSchema),
  devices: z
    .array(
      z.strictObject({
        model: modelName,
        name: z.optional(z.textOf(1, 8)),
        initOrder: z.optional(z.intIn(0, 0xffffffff)),
        options: z.optional(z.record(z.string(), z.unknown())),
      }),
    )
    .check(z.minLength(1), z.maxLength(64)),
  vms: z
    .array(
      z.strictObject({
        model: modelName,
        count: z.optional(z.intIn(1, 64)),
        options: z.optional(z.record(z.string(), z.unknown())),
      }),
    )
    .check(z.maxLength(64)),
});

export type ScenarioJson = z.infer<typeof jsonSchema>;

function describeIssues(path: string, error: z.SchemaError): string {
  const issue = error.issues[0]!;
  const field = issue.path.length === 0 ? '(top level)' : issue.path.join('.');
  return `${path}: ${field}: ${issue.message}`;
}

/** The options a model factory gets: the entry's name and init order, then its options. */
function modelOptions(entry: {
  name?: string;
  initOrder?: number;
  options?: Record<string, unknown>;
}) {
  return {
    ...(entry.name === undefined ? {} : { name: entry.name }),
    ...(entry.initOrder === undefined ? {} : { initOrder: entry.initOrder }),
    ...entry.options,
  };
}

/**
 * Refuses keys that could reach a prototype and nesting deeper than any scenario needs,
 * naming where, before the schema sees the document (iterative: no deep recursion).
 */
function checkJsonShape(path: string, json: unknown): void {
  const stack: [unknown, string[]][] = [[json, []]];
  while (stack.length > 0) {
    const [value, at] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (at.length >= SCENARIO_DEPTH_MAX) {
      throw new ScenarioError(
        `${path}: ${at.join('.')}: nested deeper than ${SCENARIO_DEPTH_MAX} levels`,
      );
    }
    for (const [key, child] of Object.entries(value)) {
      if (FORBIDDEN_KEYS.has(key)) {
        const where = [...at, key].join('.');
        throw new ScenarioError(`${path}: ${where}: the key "${key}" is not allowed`);
      }
      stack.push([child, [...at, key]]);
    }
  }
}

/** Checks JSON against the schema and each model's options; throws ScenarioError. */
export function validateScenarioJson(path: string, json: unknown): ScenarioJson {
  checkJsonShape(path, json);
  const parsed = jsonSchema.safeParse(json);
  if (!parsed.success) throw new ScenarioError(describeIssues(path, parsed.error));
  checkedMachine(path, parsed.data.machine);
  const entries = [
    ...parsed.data.devices.map((d, i) => ({ where: `devices.${i}`, kind: 'device', ...d })),
    ...parsed.data.vms.map((v, i) => ({ where: `vms.${i}`, kind: 'vm', ...v })),
  ];
  for (const entry of entries) {
    const options = modelOptionSchemas[entry.model]!.safeParse(modelOptions(entry));
    if (!options.success) {
      const issue = options.error.issues[0]!;
      const inOptions = issue.path[0] !== 'name' && issue.path[0] !== 'initOrder';
      const field = [entry.where, ...(inOptions ? ['options'] : []), ...issue.path].join('.');
      throw new ScenarioError(`${path}: ${field}: ${issue.message}`);
    }
    const kind = builtinModels[entry.model]!({}).kind;
    if (kind !== entry.kind) {
      throw new ScenarioError(
        `${path}: ${entry.where}.model: ${entry.model} is a ${kind === 'vm' ? 'VM' : 'device'} ` +
          `model, not a ${entry.kind === 'vm' ? 'VM' : 'device'}`,
      );
    }
  }
  return parsed.data;
}

/** The machine a scenario asks for, resolved and sized; bad options name `machine.<option>`. */
function checkedMachine(
  path: string,
  machine: Partial<MachineOptions> | undefined,
): { options: MachineOptions; bytes: number } {
  try {
    return checkMachine(machine);
  } catch (error) {
    if (!(error instanceof OptionError)) throw error;
    throw new ScenarioError(`${path}: machine.${error.message}`);
  }
}

function fromJson(data: ScenarioJson): ScenarioDefinition {
  const devices = data.devices.map((d) => builtinModels[d.model]!(modelOptions(d)));
  const vms: VmDefinition[] = [];
  for (const v of data.vms) {
    for (let n = 0; n < (v.count ?? 1); n++)
      vms.push(
        builtinModels[v.model]!({ name: `VM${vms.length + 1}`, ...v.options }) as VmDefinition,
      );
  }
  return {
    name: data.name,
    devices: devices as DeviceDefinition[],
    vms,
    ...(data.description === undefined ? {} : { description: data.description }),
    ...(data.machine === undefined ? {} : { machine: data.machine }),
    ...(data.budget === undefined ? {} : { budget: data.budget }),
    ...(data.interrupts === undefined ? {} : { interrupts: data.interrupts }),
  };
}

/** A module's default export: the scenario's own fields checked like JSON's. */
const moduleSchema = z.object({
  name: z.textOf(1, 200),
  description: z.optional(z.string()),
  machine: z.optional(z.record(z.string(), z.unknown())),
  budget: z.optional(budgetSchema),
  interrupts: z.optional(interruptsSchema),
  devices: z.array(z.unknown()),
  vms: z.array(z.unknown()),
});

const actorSchema = (kind: 'device' | 'vm') =>
  z.object({
    kind: z.literal(kind),
    name: z.textOf(1, 64),
    create: z.custom<(actor: never) => unknown>((value) => typeof value === 'function'),
    ...(kind === 'device' ? { initOrder: z.intIn(0, 0xffffffff) } : {}),
  });
const deviceSchema = actorSchema('device');
const vmSchema = actorSchema('vm');

function checkDefinition(path: string, value: unknown): ScenarioDefinition {
  if (value === null || typeof value !== 'object') {
    throw new ScenarioError(`${path}: the module has no default export (use defineScenario)`);
  }
  const parsed = moduleSchema.safeParse(value);
  if (!parsed.success) throw new ScenarioError(describeIssues(path, parsed.error));
  const s = value as ScenarioDefinition;
  checkedMachine(path, s.machine);
  const lists: [string, unknown[], z.ZodMiniType, string][] = [
    ['devices', s.devices, deviceSchema, 'defineDevice'],
    ['vms', s.vms, vmSchema, 'defineVM'],
  ];
  for (const [list, entries, schema, maker] of lists) {
    entries.forEach((entry, i) => {
      const checked = schema.safeParse(entry);
      if (checked.success) return;
      const issue = checked.error.issues[0]!;
      const field = [list, i, ...issue.path].join('.');
      const hint = issue.path[0] === 'kind' || issue.path.length === 0 ? ` (use ${maker})` : '';
      throw new ScenarioError(`${path}: ${field}: ${issue.message}${hint}`);
    });
  }
  return s;
}

/**
 * A checked module scenario copied into plain objects, read once: an export that is a Proxy
 * or has getters cannot answer differently later, in the coordinator or a worker.
 */
function plainCopy(s: ScenarioDefinition): ScenarioDefinition {
  const actor = <T extends DeviceDefinition | VmDefinition>(a: T): T => {
    const copy: Record<string, unknown> = { kind: a.kind, name: a.name, create: a.create };
    if (a.options !== undefined) copy['options'] = a.options;
    if (a.kind === 'device') copy['initOrder'] = a.initOrder;
    return copy as T;
  };
  const copy: ScenarioDefinition = {
    name: s.name,
    devices: [...s.devices].map(actor),
    vms: [...s.vms].map(actor),
  };
  if (s.description !== undefined) copy.description = s.description;
  if (s.machine !== undefined) copy.machine = { ...s.machine };
  if (s.budget !== undefined) copy.budget = { ...s.budget };
  if (s.interrupts !== undefined) copy.interrupts = { ...s.interrupts };
  return copy;
}

/**
 * Refuses more VMs than the machine holds and more devices and VMs than it has actor slots
 * for, naming the limit and its value (each is a worker thread on real threads).
 */
function checkCounts(path: string, scenario: ScenarioDefinition): void {
  const machine = checkedMachine(path, scenario.machine).options;
  const vms = scenario.vms.length;
  if (vms + 1 > machine.vmMax) {
    throw new ScenarioError(
      `${path}: too many VMs (${vms}): the machine holds ${machine.vmMax - 1} besides the ` +
        `system VM (machine.vmMax is ${machine.vmMax}, at most ${limits.vmMaxMax})`,
    );
  }
  const actors = scenario.devices.length + vms;
  if (actors + 2 > machine.actorMax) {
    throw new ScenarioError(
      `${path}: too many devices and VMs (${actors}): machine.actorMax (${machine.actorMax}) ` +
        `allows ${machine.actorMax - 2} (machine.actorMax is at most ${limits.actorMaxMax})`,
    );
  }
}

/** Cuts or repeats a list to `count` entries (the command line's --devices and --vms). */
function resize<T extends { name: string }>(
  list: T[],
  count: number | undefined,
  rename: (i: number) => string,
): T[] {
  if (count === undefined || list.length === 0) return list;
  return Array.from({ length: count }, (_, i) => {
    const item = list[i % list.length]!;
    return i < list.length ? item : { ...item, name: rename(i) };
  });
}

/** A scenario module is source code; anything bigger is refused before it is imported. */
export const SCENARIO_MODULE_BYTES_MAX = 16 << 20;

/**
 * Refuses what is not a regular file (a FIFO, a device such as /dev/zero, a folder, or a
 * link to one) before it is opened: opening a FIFO waits for a writer, and reading a device
 * never ends. `max` bounds its size. Throws ScenarioError naming the file.
 */
export function checkScenarioFile(file: string, max: number): void {
  let stat;
  try {
    stat = statSync(file); // follows links: the file a link names is what is read
  } catch (error) {
    throw new ScenarioError(`${file}: cannot be read: ${firstLine(error)}`);
  }
  if (stat.isDirectory()) throw new ScenarioError(`${file}: a folder, not a scenario file`);
  if (!stat.isFile()) {
    const what = stat.isFIFO() ? 'a FIFO' : stat.isSocket() ? 'a socket' : 'a device';
    throw new ScenarioError(`${file}: ${what}, not a regular file`);
  }
  if (stat.size > max) {
    throw new ScenarioError(
      `${file}: ${formatBytes(stat.size)}; a scenario file is at most ${formatBytes(max)}`,
    );
  }
}

/**
 * Reads at most `max` bytes of a regular file, checking the size while it reads (a file that
 * grows past the bound is refused, not read to the end). Opened without blocking and checked
 * again once open, in case the path changed after checkScenarioFile.
 */
function readBounded(file: string, max: number): Buffer {
  checkScenarioFile(file, max);
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFile()) throw new ScenarioError(`${file}: not a regular file`);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.alloc(64 * 1024);
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      total += n;
      if (total > max) {
        throw new ScenarioError(
          `${file}: more than ${formatBytes(max)}; a scenario file is at most ${formatBytes(max)}`,
        );
      }
      chunks.push(chunk.subarray(0, n));
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

/** Reads a JSON scenario file; throws ScenarioError naming the file and what is wrong. */
export function readScenarioJson(file: string): unknown {
  let text: string;
  try {
    text = readBounded(file, SCENARIO_FILE_BYTES_MAX).toString('utf8');
  } catch (error) {
    if (error instanceof ScenarioError) throw error;
    throw new ScenarioError(`${file}: cannot be read: ${firstLine(error)}`);
  }
  if (text.trim() === '') throw new ScenarioError(`${file}: the file is empty`);
  if (/[\u0000\ufffd]/.test(text)) throw new ScenarioError(`${file}: not JSON (binary data)`);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ScenarioError(`${file}: not valid JSON: ${firstLine(error)}`);
  }
}

/** Loads a scenario definition; the same call in the coordinator and in workers. */
export async function loadScenario(
  source: ScenarioSource,
  signal?: AbortSignal,
): Promise<ScenarioDefinition> {
  let scenario: ScenarioDefinition;
  if (source.kind === 'json') {
    scenario = fromJson(validateScenarioJson(source.path, source.json));
  } else {
    checkScenarioFile(source.path, SCENARIO_MODULE_BYTES_MAX);
    const exported = await importScenario(source.path, signal);
    try {
      scenario = plainCopy(checkDefinition(source.path, exported.value));
    } catch (error) {
      if (error instanceof ScenarioError) throw error;
      throw new ScenarioError(
        `${source.path}: the default export cannot be read: ${firstLine(error)}`,
      );
    }
  }
  const resized = {
    ...scenario,
    devices: resize(scenario.devices, source.devices, (i) => `DEV${i}`),
    vms: resize(scenario.vms, source.vms, (i) => `VM${i + 1}`),
  };
  checkCounts(source.path, resized);
  return resized;
}
