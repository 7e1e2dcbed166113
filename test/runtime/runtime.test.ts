// The runtime on real threads: control messages in DDK order across device workers, carry
// and its effects, the VM lifecycle, and failures (a worker that throws, exits or hangs)
// classified within seconds instead of hanging the run.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlMessage, runScenario, VNE_Closed, VNE_CreateFail } from '../../src/index.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures');
const base = { seed: 1, hangSeconds: 2 };

afterEach(() => {
  delete process.env.VMMSIM_FIXTURE_CARRY_DEVICE;
  delete process.env.VMMSIM_FIXTURE_CARRY_MESSAGE;
  delete process.env.VMMSIM_FIXTURE_FAULT;
});

const name = (id: number): string =>
  Object.entries(ControlMessage).find(([, value]) => value === id)?.[0] ?? `?${id}`;

/** The messages the recorder devices got, in order: [device, message, edx]. */
function received(words: number[]): [number, string, number][] {
  const out: [number, string, number][] = [];
  for (let at = 1; at < 1 + words[0]! && at + 1 < words.length; at += 2) {
    out.push([words[at]! >> 8, name(words[at]! & 0xff), words[at + 1]!]);
  }
  return out;
}

async function record(carryDevice?: number, carryMessage?: string) {
  if (carryDevice !== undefined) process.env.VMMSIM_FIXTURE_CARRY_DEVICE = String(carryDevice);
  if (carryMessage !== undefined) process.env.VMMSIM_FIXTURE_CARRY_MESSAGE = carryMessage;
  const report = await runScenario(join(fixtures, 'recorder.ts'), base);
  return { report, messages: received(report.sharedWords) };
}

describe('runtime: control messages', () => {
  it('every device gets each message in ascending init order (ties in load order), one message at a time', async () => {
    const { report, messages } = await record();
    expect(report.failure).toBeUndefined();
    const init = messages.filter(([, m]) =>
      ['Sys_Critical_Init', 'Device_Init', 'Init_Complete', 'Sys_VM_Init'].includes(m),
    );
    // REC1 has the lowest init order; REC0 and REC2 tie and keep load order.
    const order = [1, 0, 2];
    expect(init).toEqual(
      ['Sys_Critical_Init', 'Device_Init', 'Init_Complete', 'Sys_VM_Init'].flatMap((m) =>
        order.map((d) => [d, m, 0]),
      ),
    );
  });

  it('the "…2" twins follow their message in descending init order', async () => {
    const { messages } = await record();
    const exit = messages.filter(([, m]) => m.startsWith('System_Exit'));
    expect(exit.map(([d, m]) => `${m}:${d}`)).toEqual([
      'System_Exit:1',
      'System_Exit:0',
      'System_Exit:2',
      'System_Exit2:2',
      'System_Exit2:0',
      'System_Exit2:1',
    ]);
  });

  it('a VM lives Create_VM → VM_Critical_Init → VM_Init … VM_Terminate → VM_Not_Executeable (VNE_Closed) → Destroy_VM', async () => {
    const { report, messages } = await record();
    const device0 = messages.filter(
      ([d, m]) => d === 0 && /VM(_|2|$)/.test(m) && !m.startsWith('Sys_VM'),
    );
    expect(device0.map(([, m]) => m)).toEqual([
      'Create_VM',
      'VM_Critical_Init',
      'VM_Init',
      'VM_Terminate',
      'VM_Terminate2',
      'VM_Not_Executeable',
      'VM_Not_Executeable2',
      'Destroy_VM',
      'Destroy_VM2',
    ]);
    expect(device0.find(([, m]) => m === 'VM_Not_Executeable')![2]).toBe(VNE_Closed);
    expect(report.byService['_PageAllocate']).toBeGreaterThan(0);
    expect(report.violations).toEqual([]); // the VM's PG_VM memory was freed with it
  });

  it('carry on Device_Init drops the device: it gets no later message', async () => {
    const { report, messages } = await record(2, 'Device_Init');
    expect(report.droppedDevices).toEqual(['REC2']);
    const after = messages.slice(
      messages.findIndex(([d, m]) => d === 2 && m === 'Device_Init') + 1,
    );
    expect(after.some(([d]) => d === 2)).toBe(false);
    expect(after.some(([d]) => d === 0)).toBe(true);
  });

  it('carry on Sys_VM_Init makes Windows exit: no VM is created, the exit messages still go out', async () => {
    const { report, messages } = await record(0, 'Sys_VM_Init');
    expect(report.systemExit).toBe(true);
    expect(messages.some(([, m]) => m === 'Create_VM')).toBe(false);
    expect(messages.some(([, m]) => m === 'Sys_Critical_Exit')).toBe(true);
  });

  it('carry on Create_VM: the VM is not created; every device gets VM_Not_Executeable (VNE_CreateFail), Destroy_VM', async () => {
    const { report, messages } = await record(1, 'Create_VM');
    expect(report.refusedVms).toEqual(['DOSBOX (Create_VM)']);
    const vne = messages.filter(([, m]) => m === 'VM_Not_Executeable');
    expect(vne.map(([d, , edx]) => [d, edx])).toEqual([
      [1, VNE_CreateFail],
      [0, VNE_CreateFail],
      [2, VNE_CreateFail],
    ]);
    expect(messages.some(([, m]) => m === 'VM_Init' || m === 'VM_Terminate')).toBe(false);
    expect(report.violations).toEqual([]);
  });
});

async function faulty(fault: string) {
  process.env.VMMSIM_FIXTURE_FAULT = fault;
  const started = performance.now();
  const report = await runScenario(join(fixtures, 'faulty.ts'), base);
  return { report, seconds: (performance.now() - started) / 1000 };
}

describe('runtime: failures end the run, named and classified', () => {
  it('a device whose code throws: named, with its phase, last service and stack', async () => {
    const { report, seconds } = await faulty('throw');
    expect(report.failure).toMatchObject({
      actor: 'FAULTY',
      kind: 'threw',
      phase: 'run',
      lastService: '_GetFreePageCount',
    });
    expect(report.failure!.message).toContain('planted exception');
    expect(report.failure!.stack).toContain('faulty.ts');
    expect(seconds).toBeLessThan(15);
  });

  it('a device whose worker exits: named, classified as exited', async () => {
    const { report } = await faulty('exit');
    expect(report.failure).toMatchObject({ actor: 'FAULTY', kind: 'exited' });
    expect(report.failure!.message).toContain('code 3');
  });

  it('a device that stops making calls: hung, within the hang bound', async () => {
    const { report, seconds } = await faulty('hang');
    expect(report.failure).toMatchObject({ actor: 'FAULTY', kind: 'hung', phase: 'run' });
    expect(seconds).toBeLessThan(15);
  });

  it('a device that never answers a control message: hung during that message', async () => {
    const { report } = await faulty('hang-control');
    expect(report.failure).toMatchObject({ actor: 'FAULTY', kind: 'hung', phase: 'Device_Init' });
  });

  it('a synchronous service called from an interrupt handler is refused and counted as a violation', async () => {
    const { report } = await faulty('interrupt-sync');
    expect(report.failure).toBeUndefined();
    expect(report.interruptsTaken).toBeGreaterThan(0);
    const refusals =
      report.failures['_PageAllocate: Synchronous service called from a nested interrupt'];
    expect(refusals).toBeGreaterThan(0);
    expect(report.violations.some((v) => v.kind === 'interrupt-time')).toBe(true);
  });

  it('interrupt handlers that call only asynchronous services leave the run sound', async () => {
    const { report } = await faulty('none');
    expect(report.failure).toBeUndefined();
    expect(report.interruptsTaken).toBeGreaterThan(0);
    expect(report.violations).toEqual([]);
  });
});
