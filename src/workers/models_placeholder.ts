// Temporary: the built-in models land in src/workers/models/.
import type { z } from 'zod';
import type { DeviceDefinition, VmDefinition } from '../shared/scenario.js';
export const builtinModels: Record<
  string,
  (options: Record<string, unknown>) => DeviceDefinition | VmDefinition
> = {};
export const modelOptionSchemas: Record<string, z.ZodType> = {};
