// The kernel's state-changing functions assert their pre- and postconditions (STYLE.md: what
// must never happen is an assertion). Misuse by the runtime is caught where it happens.
import { describe, expect, it } from 'vitest';
import { AssertionError } from '../../src/shared/assert.js';
import { createKernel } from '../../src/shared/kernel.js';
import { systemPhase } from '../../src/shared/protocol.js';
import { ControlMessage } from '../../src/shared/constants.js';

const machine = { ramPages: 448, vmMax: 2, blockMax: 32, actorMax: 6, vmV86Pages: 2 };

function booted() {
  const kernel = createKernel(machine);
  const device = kernel.device('DEV');
  for (const m of ['Sys_Critical_Init', 'Device_Init', 'Init_Complete', 'Sys_VM_Init'] as const)
    kernel.systemControl(m);
  return { kernel, device };
}

describe('kernel assertions', () => {
  it('the phase word follows the phase driver: systemPhase is the last system message', () => {
    const { kernel } = booted();
    expect(systemPhase(kernel.layout)).toBe(ControlMessage.Sys_VM_Init);
    expect(kernel.phase).toBe(ControlMessage.Sys_VM_Init);
  });

  it('initialization completes once, in Init_Complete', () => {
    const { kernel } = booted();
    expect(() => kernel.completeInit()).toThrow(AssertionError);
  });

  it('a device is dropped only during initialization, and only a device', () => {
    const { kernel, device } = booted();
    expect(() => kernel.dropDevice(device.actor)).toThrow(/initialization is over/);
    const vm = kernel.vm(kernel.createVM().handle);
    expect(() => kernel.markInitCompleteReceived(vm.actor)).toThrow(AssertionError);
  });

  it('a destroyed VM is no longer live and its slot is free again', () => {
    const { kernel } = booted();
    const vm = kernel.vm(kernel.createVM().handle);
    const { actor, handle } = vm;
    kernel.destroyVM(handle);
    expect(() => kernel.vm(handle)).toThrow(AssertionError);
    expect(() => kernel.releaseVmSpace(handle)).toThrow(AssertionError);
    expect(kernel.vm(kernel.createVM().handle).actor).toBe(actor);
  });

  it('a callback runs only by a registered id', async () => {
    const { kernel } = booted();
    await expect(kernel.runCallback(7, 0, 1)).rejects.toThrow(AssertionError);
  });
});
