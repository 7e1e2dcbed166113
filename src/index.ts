/**
 * vmmsim's public library surface (DESIGN.md §7): the in-process kernel, its contexts, the
 * checker's types and every DDK constant. The multi-threaded runtime is added beside it.
 * @packageDocumentation
 */
export {
  createKernel,
  attachKernel,
  Kernel,
  type ControlHandler,
  type ControlResult,
  type DeviceOptions,
} from './shared/kernel.js';
export type {
  DeviceContext,
  DeviceInVm,
  VmContext,
  VmmServices,
  Registers,
  RegistersIn,
  TwoRegisters,
} from './shared/services/index.js';
export type { Violation, ViolationKind, CheckOptions } from './shared/checker.js';
export type { Prng } from './shared/prng.js';
export type { Refusal } from './shared/context.js';
export { PageFaultError, type AccessOptions } from './shared/memory_access.js';
export { LockTimeoutError, OwnerDeadError } from './shared/lock.js';
export { AssertionError } from './shared/assert.js';
export {
  presets,
  resolveOptions,
  OptionError,
  type MachineOptions,
  type LockingPolicy,
} from './shared/config.js';
export * from './shared/constants.js';
export {
  defineScenario,
  defineDevice,
  defineVM,
  makeActor,
  type ScenarioDefinition,
  type DeviceDefinition,
  type VmDefinition,
  type DeviceActor,
  type DeviceInVmActor,
  type VmActor,
  type ActorBase,
  type AsyncServices,
  type Awaitable,
  type DeviceProgram,
  type VmProgram,
  type ActorHost,
  type ScenarioCallback,
} from './shared/scenario/scenario.js';
export { runScenario, type ScenarioRunOptions } from './main/runtime/run_scenario.js';
export type { RunReport } from './main/runtime/coordinator.js';
export type { ActorReport, ActorFailure } from './shared/protocol.js';
export { ScenarioError } from './shared/scenario/load.js';
export {
  cacheDevice,
  pageSwapDevice,
  busMasterDmaDevice,
  v86DataDevice,
  dosVm,
  builtinModels,
} from './shared/scenario/models/index.js';
