/**
 * Turns a scenario source into a ScenarioDefinition, the same way in the coordinator and in
 * every worker: a TypeScript or JavaScript module (its default export, built with
 * defineScenario), or JSON naming built-in models with options. JSON is validated with zod
 * and every problem is reported with the path of the field.
 */
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { LockingPolicies } from '../shared/config.js';
import type { ScenarioSource } from '../shared/protocol.js';
import type { DeviceDefinition, ScenarioDefinition, VmDefinition } from '../shared/scenario.js';
import { builtinModels, modelOptionSchemas } from './models/index.js';

/** A scenario file or module that is wrong: the message names the field. Exit code 2. */
export class ScenarioError extends Error {
  override name = 'ScenarioError';
}

const modelName = z.enum(Object.keys(builtinModels) as [string, ...string[]]);

const jsonSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  machine: z
    .strictObject({
      ramPages: z.number().int().optional(),
      vmMax: z.number().int().optional(),
      blockMax: z.number().int().optional(),
      actorMax: z.number().int().optional(),
      vmV86Pages: z.number().int().optional(),
      locking: z.enum(LockingPolicies).optional(),
      lockWaitMsMax: z.number().int().optional(),
    })
    .optional(),
  budget: z
    .strictObject({
      calls: z.number().int().positive().max(1e9).optional(),
      seconds: z.number().positive().max(86_400).optional(),
    })
    .optional(),
  interrupts: z.strictObject({ everyMs: z.number().positive().max(60_000) }).optional(),
  devices: z
    .array(
      z.strictObject({
        model: modelName,
        name: z.string().min(1).max(8).optional(),
        initOrder: z.number().int().min(0).max(0xffffffff).optional(),
        options: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .min(1)
    .max(64),
  vms: z
    .array(
      z.strictObject({
        model: modelName,
        count: z.number().int().min(1).max(64).optional(),
        options: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .max(64),
});

export type ScenarioJson = z.infer<typeof jsonSchema>;

function describeIssues(path: string, error: z.ZodError): string {
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

/** Checks JSON against the schema and each model's options; throws ScenarioError. */
export function validateScenarioJson(path: string, json: unknown): ScenarioJson {
  const parsed = jsonSchema.safeParse(json);
  if (!parsed.success) throw new ScenarioError(describeIssues(path, parsed.error));
  const entries = [
    ...parsed.data.devices.map((d, i) => ({ where: `devices.${i}`, ...d })),
    ...parsed.data.vms.map((v, i) => ({ where: `vms.${i}`, ...v })),
  ];
  for (const entry of entries) {
    const options = modelOptionSchemas[entry.model]!.safeParse(modelOptions(entry));
    if (!options.success) {
      const issue = options.error.issues[0]!;
      const inOptions = issue.path[0] !== 'name' && issue.path[0] !== 'initOrder';
      const field = [entry.where, ...(inOptions ? ['options'] : []), ...issue.path].join('.');
      throw new ScenarioError(`${path}: ${field}: ${issue.message}`);
    }
  }
  return parsed.data;
}

function fromJson(data: ScenarioJson): ScenarioDefinition {
  const devices = data.devices.map((d, i) => {
    const definition = builtinModels[d.model]!(modelOptions(d));
    if (definition.kind !== 'device')
      throw new ScenarioError(`devices.${i}: ${d.model} is a VM model`);
    return definition;
  });
  const vms: VmDefinition[] = [];
  data.vms.forEach((v, i) => {
    for (let n = 0; n < (v.count ?? 1); n++) {
      const definition = builtinModels[v.model]!({ name: `VM${vms.length + 1}`, ...v.options });
      if (definition.kind !== 'vm')
        throw new ScenarioError(`vms.${i}: ${v.model} is a device model`);
      vms.push(definition);
    }
  });
  return {
    name: data.name,
    devices,
    vms,
    ...(data.description === undefined ? {} : { description: data.description }),
    ...(data.machine === undefined ? {} : { machine: data.machine }),
    ...(data.budget === undefined ? {} : { budget: data.budget }),
    ...(data.interrupts === undefined ? {} : { interrupts: data.interrupts }),
  };
}

function checkDefinition(path: string, value: unknown): ScenarioDefinition {
  const s = value as Partial<ScenarioDefinition> | undefined;
  if (s === undefined || typeof s !== 'object') {
    throw new ScenarioError(`${path}: the module has no default export (use defineScenario)`);
  }
  if (typeof s.name !== 'string') throw new ScenarioError(`${path}: name must be a string`);
  if (!Array.isArray(s.devices)) throw new ScenarioError(`${path}: devices must be an array`);
  if (!Array.isArray(s.vms)) throw new ScenarioError(`${path}: vms must be an array`);
  s.devices.forEach((d: DeviceDefinition, i) => {
    if (d?.kind !== 'device' || typeof d.create !== 'function') {
      throw new ScenarioError(`${path}: devices.${i} is not made with defineDevice`);
    }
  });
  s.vms.forEach((v: VmDefinition, i) => {
    if (v?.kind !== 'vm' || typeof v.create !== 'function') {
      throw new ScenarioError(`${path}: vms.${i} is not made with defineVM`);
    }
  });
  return s as ScenarioDefinition;
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

let tsxRegistered = false;

/** Loads a scenario definition; the same call in the coordinator and in workers. */
export async function loadScenario(source: ScenarioSource): Promise<ScenarioDefinition> {
  let scenario: ScenarioDefinition;
  if (source.kind === 'json') {
    scenario = fromJson(validateScenarioJson(source.path, source.json));
  } else {
    if (source.path.endsWith('.ts') && !tsxRegistered && !import.meta.url.endsWith('.ts')) {
      const { register } = await import('tsx/esm/api');
      register();
      tsxRegistered = true;
    }
    let module: { default?: unknown };
    try {
      module = (await import(pathToFileURL(source.path).href)) as { default?: unknown };
    } catch (error) {
      const e = error as Error;
      throw new ScenarioError(
        `${source.path}: the module cannot be loaded: ${e.message.split('\n')[0]}`,
      );
    }
    scenario = checkDefinition(source.path, module.default);
  }
  return {
    ...scenario,
    devices: resize(scenario.devices, source.devices, (i) => `DEV${i}`),
    vms: resize(scenario.vms, source.vms, (i) => `VM${i + 1}`),
  };
}
