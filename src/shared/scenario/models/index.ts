/**
 * The built-in device and VM models by the name a scenario file uses, and the zod schema
 * of each model's options (strict: an unknown key is an error; defaults filled in). The
 * models themselves live one per file beside this one; their shared-word agreements in
 * shared_words.ts.
 */
import type * as z from '../schema.js';
import type { DeviceDefinition, VmDefinition } from '../scenario.js';
import { cacheDevice, cacheOptionsSchema, type CacheOptions } from './cache.js';
import { busMasterDmaDevice, dmaOptionsSchema, type DmaOptions } from './dma.js';
import { dosVm, dosVmOptionsSchema, type DosVmOptions } from './dos_vm.js';
import { pageSwapDevice, pageSwapOptionsSchema, type PageSwapOptions } from './page_swap.js';
import { v86DataDevice, v86DataOptionsSchema, type V86DataOptions } from './v86_data.js';

export type ModelFactory = (options: Record<string, unknown>) => DeviceDefinition | VmDefinition;

/** Each model's options schema, by model name. */
export const modelOptionSchemas: Record<string, z.ZodMiniType> = {
  cache: cacheOptionsSchema,
  'page-swap': pageSwapOptionsSchema,
  dma: dmaOptionsSchema,
  'v86-data': v86DataOptionsSchema,
  'dos-vm': dosVmOptionsSchema,
};

/**
 * Each model's factory, by model name. A factory checks its options against the model's
 * schema (throwing zod's error, which names the field) and fills in the defaults.
 */
export const builtinModels: Record<string, ModelFactory> = {
  cache: (options) => cacheDevice(options as CacheOptions),
  'page-swap': (options) => pageSwapDevice(options as PageSwapOptions),
  dma: (options) => busMasterDmaDevice(options as DmaOptions),
  'v86-data': (options) => v86DataDevice(options as V86DataOptions),
  'dos-vm': (options) => dosVm(options as DosVmOptions),
};

export { cacheDevice, busMasterDmaDevice, dosVm, pageSwapDevice, v86DataDevice };
export { SWAP_WORDS, V86_WORDS } from './shared_words.js';
