/**
 * The order of control messages (DDK): one place for every sequence the in-process kernel,
 * the coordinator and controlled mode send, so the three cannot drift apart. Data only.
 */
import {
  type ControlMessageName,
  VNE_CreateFail,
  VNE_CrInitFail,
  VNE_InitFail,
} from './constants.js';

/** Sent to every device, in ascending init order, each finished before the next. */
export const SYSTEM_INIT_MESSAGES: readonly ControlMessageName[] = [
  'Sys_Critical_Init',
  'Device_Init',
  'Init_Complete',
];

/** The exit messages, each followed by its "…2" twin in descending init order. */
export const SYSTEM_EXIT_PAIRS: readonly (readonly [ControlMessageName, ControlMessageName])[] = [
  ['Sys_VM_Terminate', 'Sys_VM_Terminate2'],
  ['System_Exit', 'System_Exit2'],
  ['Sys_Critical_Exit', 'Sys_Critical_Exit2'],
];

/** Every system-wide message, in the one order they may be sent (each once at most). */
export const SYSTEM_SEQUENCE: readonly ControlMessageName[] = [
  ...SYSTEM_INIT_MESSAGES,
  'Sys_VM_Init',
  ...SYSTEM_EXIT_PAIRS.map(([message]) => message),
];

/** Creating a VM; carry on one of them fails the create with its VNE_* flag. */
export const VM_CREATE_MESSAGES = [
  { message: 'Create_VM', vneOnCarry: VNE_CreateFail },
  { message: 'VM_Critical_Init', vneOnCarry: VNE_CrInitFail },
  { message: 'VM_Init', vneOnCarry: VNE_InitFail },
] as const;

/**
 * The end of a VM, each message followed by its twin: VM_Terminate only for a VM that ran
 * (a normal end); VM_Not_Executeable carries the VNE_* flags in EDX.
 */
export function vmEndMessages(
  normal: boolean,
): (readonly [ControlMessageName, ControlMessageName])[] {
  return [
    ...(normal ? [['VM_Terminate', 'VM_Terminate2'] as const] : []),
    ['VM_Not_Executeable', 'VM_Not_Executeable2'] as const,
    ['Destroy_VM', 'Destroy_VM2'] as const,
  ];
}

/** The "…2" twin of a message, sent after it to every device in descending init order. */
export const TWIN_OF: Readonly<Partial<Record<ControlMessageName, ControlMessageName>>> =
  Object.fromEntries([...SYSTEM_EXIT_PAIRS, ...vmEndMessages(true)]);
