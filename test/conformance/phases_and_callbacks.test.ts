/**
 * Conformance: System_Control order and carry (reference §1.8), VM creation and destruction,
 * init-only services (§1.9), _SetFreePhysRegCalBk (§2.18) and the asynchronous-service rule
 * (§3): Get_VMM_Reenter_Count, and synchronous services refused at interrupt time.
 */
import { describe, expect, it } from 'vitest';
import {
  createKernel,
  presets,
  type ControlMessageName,
  type DeviceContext,
  type Kernel,
  ALWAYS_FIELD,
  GVDAPageAlign,
  PG_SYS,
  PG_VM,
  PageMapFreePhysReg,
} from '../../src/index.js';

interface Recorder {
  kernel: Kernel;
  log: string[];
  add(name: string, initOrder: number, carryOn?: ControlMessageName[]): DeviceContext;
}

/** A kernel whose devices log each control message as "Message:Device". */
function recorder(): Recorder {
  const kernel = createKernel(presets.testMin);
  const log: string[] = [];
  const add = (
    name: string,
    initOrder: number,
    carryOn: ControlMessageName[] = [],
  ): DeviceContext =>
    kernel.device(name, {
      initOrder,
      onControl: (message) => {
        log.push(`${message}:${name}`);
        return carryOn.includes(message);
      },
    });
  return { kernel, log, add };
}

const INIT: ControlMessageName[] = ['Sys_Critical_Init', 'Device_Init', 'Init_Complete'];

function bootToSysVmInit(kernel: Kernel): void {
  for (const message of [...INIT, 'Sys_VM_Init'] as const) kernel.systemControl(message);
}

const freePages = (dev: DeviceContext): number => dev._GetFreePageCount(0).eax;

describe('System_Control', () => {
  it('sends each message in ascending init order, equal orders in load order', () => {
    const { kernel, log, add } = recorder();
    add('C', 3);
    add('A', 1);
    add('B', 2);
    add('D', 2);
    kernel.systemControl('Sys_Critical_Init');
    expect(log).toEqual([
      'Sys_Critical_Init:A',
      'Sys_Critical_Init:B',
      'Sys_Critical_Init:D',
      'Sys_Critical_Init:C',
    ]);
  });

  it('sends each "…2" twin right after its message, in descending init order', () => {
    const { kernel, log, add } = recorder();
    add('B', 2);
    add('A', 1);
    add('C', 3);
    bootToSysVmInit(kernel);
    log.length = 0;
    kernel.systemControl('Sys_VM_Terminate');
    kernel.systemControl('System_Exit');
    kernel.systemControl('Sys_Critical_Exit');
    const expected = (['Sys_VM_Terminate', 'System_Exit', 'Sys_Critical_Exit'] as const).flatMap(
      (m) => [`${m}:A`, `${m}:B`, `${m}:C`, `${m}2:C`, `${m}2:B`, `${m}2:A`],
    );
    expect(log).toEqual(expected);
  });

  it.each(INIT)(
    'carry on %s aborts loading of that device only: it gets no more messages',
    (message) => {
      const { kernel, log, add } = recorder();
      add('A', 1);
      add('B', 2, [message]);
      add('C', 3);
      let carried: string[] = [];
      for (const m of [...INIT, 'Sys_VM_Init'] as const) {
        const result = kernel.systemControl(m);
        if (m === message) carried = result.carried;
        expect(result.systemExit).toBe(false);
      }
      expect(carried).toEqual(['B']);
      const afterwards = log.slice(log.indexOf(`${message}:B`) + 1);
      expect(afterwards.some((entry) => entry.endsWith(':B'))).toBe(false);
      expect(log).toContain('Sys_VM_Init:A');
      expect(log).toContain('Sys_VM_Init:C');
    },
  );

  it('carry on Sys_VM_Init makes Windows exit', () => {
    const { kernel, add } = recorder();
    add('A', 1);
    add('B', 2, ['Sys_VM_Init']);
    for (const message of INIT) expect(kernel.systemControl(message).systemExit).toBe(false);
    const result = kernel.systemControl('Sys_VM_Init');
    expect(result.carried).toEqual(['B']);
    expect(result.systemExit).toBe(true);
  });
});

describe('createVM and destroyVM', () => {
  it('createVM sends Create_VM, VM_Critical_Init, VM_Init to every device with the new VM handle', () => {
    const kernel = createKernel(presets.testMin);
    const seen: string[] = [];
    for (const [name, order] of [
      ['B', 2],
      ['A', 1],
    ] as const) {
      kernel.device(name, {
        initOrder: order,
        onControl: (m, _d, vm) => void seen.push(`${m}:${name}:${vm}`),
      });
    }
    bootToSysVmInit(kernel);
    seen.length = 0;
    const vm = kernel.createVM();
    expect(vm.handle).not.toBe(kernel.systemVmHandle);
    expect(seen).toEqual(
      ['Create_VM', 'VM_Critical_Init', 'VM_Init'].flatMap((m) => [
        `${m}:A:${vm.handle}`,
        `${m}:B:${vm.handle}`,
      ]),
    );
  });

  it('carry on Create_VM fails the create: createVM throws and no VM is left', () => {
    let refuse = true;
    const handles: number[] = [];
    const kernel = createKernel(presets.testMin);
    const dev = kernel.device('VDD', {
      onControl: (m, _d, vm) => {
        if (m === 'Create_VM') handles.push(vm);
        return m === 'Create_VM' && refuse;
      },
    });
    bootToSysVmInit(kernel);
    const before = freePages(dev);
    for (let i = 0; i < presets.testMin.vmMax + 1; i++)
      expect(() => kernel.createVM()).toThrow(/Create_VM/);
    expect(freePages(dev)).toBe(before);
    for (const handle of handles) expect(() => kernel.vm(handle)).toThrow();
    expect(kernel.check()).toEqual([]);
    refuse = false;
    expect(kernel.createVM().handle).not.toBe(0);
  });

  it.each(['Create_VM', 'VM_Critical_Init', 'VM_Init'] as const)(
    'carry on %s: every device gets VM_Not_Executeable and Destroy_VM (never VM_Terminate), and no VM is left',
    (failing) => {
      const { kernel, log, add } = recorder();
      const dev = add('A', 1);
      add('B', 2, [failing]);
      bootToSysVmInit(kernel);
      const before = freePages(dev);
      log.length = 0;
      expect(() => kernel.createVM()).toThrow(failing);
      const ending = log.slice(log.indexOf(`${failing}:B`) + 1);
      expect(ending).toEqual([
        'VM_Not_Executeable:A',
        'VM_Not_Executeable:B',
        'VM_Not_Executeable2:B',
        'VM_Not_Executeable2:A',
        'Destroy_VM:A',
        'Destroy_VM:B',
        'Destroy_VM2:B',
        'Destroy_VM2:A',
      ]);
      expect(freePages(dev)).toBe(before);
      expect(kernel.check()).toEqual([]);
    },
  );

  it('VMs come and go without end: a destroyed VM gives its slot back, its context is dead', () => {
    const { kernel } = recorder();
    bootToSysVmInit(kernel);
    let last = kernel.createVM();
    // testMin has 16 actor slots: forty VMs one after the other only fit if slots come back
    for (let i = 0; i < 40; i++) {
      kernel.destroyVM(last);
      expect(() => last.int31({ ax: 0x0501, bx: 0, cx: 0x1000 })).toThrow(/destroyed/);
      last = kernel.createVM();
      expect(last.int31({ ax: 0x0501, bx: 0, cx: 0x1000 }).cf).toBe(0);
    }
    kernel.destroyVM(last);
    expect(kernel.check({ final: true })).toEqual([]);
  });

  it("destroyVM sends the end messages and frees the VM's PG_VM memory", () => {
    const { kernel, log, add } = recorder();
    const dev = add('VDD', 1);
    bootToSysVmInit(kernel);
    // The shared arena's first page table is made once and kept: make it before counting.
    expect(
      dev._PageFree(dev._PageAllocate(1, PG_VM, kernel.systemVmHandle, 0, 0, 0, null, 0).eax, 0),
    ).not.toBe(0);
    const before = freePages(dev);
    const vm = kernel.createVM();
    const block = dev._PageAllocate(6, PG_VM, vm.handle, 0, 0, 0, null, 0);
    expect(block.eax).not.toBe(0);
    expect(freePages(dev)).toBeLessThan(before - 5);
    log.length = 0;
    kernel.destroyVM(vm);
    expect(log).toEqual(
      [
        'VM_Terminate',
        'VM_Terminate2',
        'VM_Not_Executeable',
        'VM_Not_Executeable2',
        'Destroy_VM',
        'Destroy_VM2',
      ].map((m) => `${m}:VDD`),
    );
    expect(freePages(dev)).toBe(before);
    expect(dev._PageFree(block.eax, 0)).toBe(0);
    expect(kernel.check()).toEqual([]);
  });
});

describe('init-only services', () => {
  const calls: Array<[string, (dev: DeviceContext) => number]> = [
    [
      '_Allocate_Global_V86_Data_Area',
      (dev) => dev._Allocate_Global_V86_Data_Area(4096, GVDAPageAlign),
    ],
    ['_Allocate_Temp_V86_Data_Area', (dev) => dev._Allocate_Temp_V86_Data_Area(64, 0)],
    ['_SetFreePhysRegCalBk', (dev) => dev._SetFreePhysRegCalBk(() => false, 0)],
    [
      '_AddInstanceItem',
      (dev) => dev._AddInstanceItem(Uint32Array.of(0, 0, 0x4f0, 4, ALWAYS_FIELD), 0),
    ],
  ];

  it.each(calls)(
    '%s works during initialization and is refused before and after it',
    (name, call) => {
      const kernel = createKernel(presets.testMin);
      const dev = kernel.device('VDD');
      expect(call(dev)).toBe(0);
      expect(dev.lastError).toEqual({
        service: name,
        reason: 'only available during initialization',
      });
      kernel.systemControl('Sys_Critical_Init');
      expect(call(dev)).not.toBe(0);
      kernel.systemControl('Device_Init');
      kernel.systemControl('Init_Complete');
      kernel.systemControl('Sys_VM_Init');
      dev.lastError = undefined;
      expect(call(dev)).toBe(0);
      expect(dev.lastError).toEqual({
        service: name,
        reason: 'only available during initialization',
      });
    },
  );

  it('_Free_Temp_V86_Data_Area is refused after initialization, with a block allocated', () => {
    const kernel = createKernel(presets.testMin);
    const dev = kernel.device('VDD');
    kernel.systemControl('Sys_Critical_Init');
    expect(dev._Allocate_Temp_V86_Data_Area(64, 0)).not.toBe(0);
    for (const message of ['Device_Init', 'Init_Complete', 'Sys_VM_Init'] as const)
      kernel.systemControl(message);
    expect(dev._Free_Temp_V86_Data_Area()).toBe(0);
    expect(dev.lastError?.reason).toBe('only available during initialization');
  });
});

describe('_SetFreePhysRegCalBk', () => {
  /** Devices with one callback each, registered during Sys_Critical_Init; logs "name:request:count". */
  function withCallbacks(carry: boolean[]): { kernel: Kernel; dev: DeviceContext; log: string[] } {
    const kernel = createKernel(presets.testMin);
    const log: string[] = [];
    const devices = carry.map((_c, i) => kernel.device(`D${i}`, { initOrder: i + 1 }));
    kernel.systemControl('Sys_Critical_Init');
    devices.forEach((dev, i) => {
      expect(
        dev._SetFreePhysRegCalBk((request, count) => {
          log.push(`D${i}:${request}:${count}`);
          return carry[i];
        }, 0),
      ).not.toBe(0);
    });
    return { kernel, dev: devices[0]!, log };
  }

  const finish = (kernel: Kernel): void => {
    kernel.systemControl('Device_Init');
    kernel.systemControl('Init_Complete');
  };

  it('flags ≠ 0 returns 0', () => {
    const kernel = createKernel(presets.testMin);
    const dev = kernel.device('VDD');
    kernel.systemControl('Sys_Critical_Init');
    expect(dev._SetFreePhysRegCalBk(() => false, 1)).toBe(0);
  });

  it('Request 0 comes after pages reach the free list, reporting every page then on it', () => {
    const { kernel, dev, log } = withCallbacks([false]);
    finish(kernel);
    expect(log).toEqual([`D0:0:${freePages(dev)}`]);
    const block = dev._PageAllocate(5, PG_SYS, 0, 0, 0, 0, null, 0);
    expect(log).toHaveLength(1);
    expect(dev._PageFree(block.eax, 0)).not.toBe(0);
    expect(log).toEqual([log[0], `D0:0:${freePages(dev)}`]);
  });

  it('Request 1 comes when an allocation is short of pages, with the shortfall', () => {
    const { kernel, dev, log } = withCallbacks([false]);
    finish(kernel);
    const free = freePages(dev);
    log.length = 0;
    expect(dev._PageAllocate(free + 3, PG_SYS, 0, 0, 0, 0, null, 0)).toEqual({ eax: 0, edx: 0 });
    expect(log).toEqual(['D0:1:3']);
  });

  it("a refusal after a Request 1 callback made its own calls is the outer service's", () => {
    const kernel = createKernel(presets.testMin);
    const dev = kernel.device('D0', { initOrder: 1 });
    kernel.systemControl('Sys_Critical_Init');
    // the callback calls a service of its own (refused: a page that is no region's)
    dev._SetFreePhysRegCalBk((request) => {
      if (request === 1) dev._UnmapFreePhysReg(0x12345, 1, 0);
      return false;
    }, 0);
    finish(kernel);
    expect(dev._PageAllocate(freePages(dev) + 3, PG_SYS, 0, 0, 0, 0, null, 0).eax).toBe(0);
    expect(dev.lastError?.service).toBe('_PageAllocate');
    expect(dev.stats.get('_PageAllocate')?.failures.size).toBe(1);
  });

  it('Request 1 is not sent during initialization either', () => {
    const { kernel, dev, log } = withCallbacks([false]);
    kernel.systemControl('Device_Init');
    expect(dev._PageAllocate(freePages(dev) + 3, PG_SYS, 0, 0, 0, 0, null, 0)).toEqual({
      eax: 0,
      edx: 0,
    });
    expect(log).toEqual([]);
  });

  it('carry stops the chain; without carry every callback runs', () => {
    const both = withCallbacks([false, false]);
    finish(both.kernel);
    expect(both.log.map((entry) => entry.slice(0, 2)).sort()).toEqual(['D0', 'D1']);
    const one = withCallbacks([true, true]);
    finish(one.kernel);
    expect(one.log).toHaveLength(1);
  });

  it('rotates the order so that each callback is sometimes first', () => {
    const { kernel, dev, log } = withCallbacks([true, true, true]);
    finish(kernel);
    for (let i = 0; i < 2; i++)
      dev._PageFree(dev._PageAllocate(1, PG_SYS, 0, 0, 0, 0, null, 0).eax, 0);
    expect(log).toHaveLength(3);
    expect(new Set(log.map((entry) => entry.slice(0, 2)))).toEqual(new Set(['D0', 'D1', 'D2']));
  });

  it('calls no callback before every device has processed Init_Complete', () => {
    const kernel = createKernel(presets.testMin);
    const log: string[] = [];
    let handle = 0;
    const first = kernel.device('FIRST', { initOrder: 1 });
    kernel.device('LAST', {
      initOrder: 2,
      onControl: (message, self) => {
        if (message === 'Device_Init')
          handle = self._PageAllocate(4, PG_SYS, 0, 0, 0, 0, null, 0).eax;
        if (message === 'Init_Complete') log.push(`freed:${self._PageFree(handle, 0)}`);
      },
    });
    kernel.systemControl('Sys_Critical_Init');
    first._SetFreePhysRegCalBk((request) => void log.push(`callback:${request}`), 0);
    kernel.systemControl('Device_Init');
    expect(log).toEqual([]);
    kernel.systemControl('Init_Complete');
    expect(log).toEqual(['freed:1', 'callback:0']);
  });

  it('a device whose loading was aborted by carry gets no callback', () => {
    const kernel = createKernel(presets.testMin);
    const log: string[] = [];
    const dev = kernel.device('DROPPED', { onControl: (message) => message === 'Device_Init' });
    kernel.systemControl('Sys_Critical_Init');
    expect(dev._PageAllocate(2, PG_SYS, 0, 0, 0, 0, null, PageMapFreePhysReg).eax).not.toBe(0);
    expect(dev._SetFreePhysRegCalBk((request) => void log.push(`callback:${request}`), 0)).not.toBe(
      0,
    );
    kernel.systemControl('Device_Init');
    kernel.systemControl('Init_Complete');
    expect(log).toEqual([]);
  });
});

describe('interrupt time', () => {
  it('Get_VMM_Reenter_Count is 0 outside an interrupt and counts nesting inside', () => {
    const kernel = createKernel(presets.testMin);
    const dev = kernel.device('VPICD');
    expect(dev.Get_VMM_Reenter_Count()).toBe(0);
    const inside = dev.atInterrupt(() => [
      dev.Get_VMM_Reenter_Count(),
      dev.atInterrupt(() => dev.Get_VMM_Reenter_Count()),
    ]);
    expect(inside).toEqual([1, 2]);
    expect(dev.Get_VMM_Reenter_Count()).toBe(0);
    expect(kernel.check()).toEqual([]);
  });

  it('a synchronous service at interrupt time is refused, changes nothing, and check() reports it as interrupt-time', () => {
    const kernel = createKernel(presets.testMin);
    const dev = kernel.device('VPICD');
    bootToSysVmInit(kernel);
    const block = dev._PageAllocate(2, PG_SYS, 0, 0, 0, 0, null, 0);
    const before = dev._GetFreePageCount(0);
    const results = dev.atInterrupt(() => [
      dev._PageAllocate(3, PG_SYS, 0, 0, 0, 0, null, 0),
      dev._PageFree(block.eax, 0),
    ]);
    expect(results).toEqual([{ eax: 0, edx: 0 }, 0]);
    expect(dev.lastError).toEqual({
      service: '_PageFree',
      reason: 'Synchronous service called from a nested interrupt',
    });
    expect(dev._GetFreePageCount(0)).toEqual(before);
    expect(dev._PageLock(block.eax, 2, 0, 0)).not.toBe(0);
    const found = kernel.check();
    expect(found.map((v) => v.kind)).toEqual(['interrupt-time', 'interrupt-time']);
    expect(found[0]!.message).toContain('_PageAllocate');
    expect(found[1]!.message).toContain('_PageFree');
  });
});
