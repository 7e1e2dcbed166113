/**
 * Worker entry of the benchmark's baseline, the obvious other design: one thread owns the
 * memory, and every service call of every device is a request to it over a MessagePort —
 * raw postMessage, or comlink. It boots its own machine (the same chain machine the scaling
 * benchmark uses) and serves one device per port. It is not how vmmsim runs: vmmsim's
 * devices call the services in their own threads, on the shared buffer.
 */
import { type MessagePort, parentPort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import type { Kernel } from '../../src/shared/kernel.js';
import { serviceTable, type DeviceContext } from '../../src/shared/services/index.js';
import {
  bootChainMachine,
  type ChainMachineOptions,
  type ChainWindow,
} from '../../src/workers/chain_workload.js';
import { nodeEndpoint } from '../../src/workers/endpoint.js';

export type BaselineTransport = 'postMessage' | 'comlink';

/** One request: a service by its DDK name and its (numeric) arguments. */
export type ServiceRequest = [service: string, a: number, b: number, c: number];

/** What a comlink client sees of the owner: one call per service request. */
export interface OwnerServiceApi {
  call(service: string, a: number, b: number, c: number): number;
}

export interface OwnerReport {
  /** Service calls served per device, by the device's context (not by the clients). */
  served: Record<string, number>;
  refusals: string[];
  violations: string[];
}

const serviceNames = new Set(serviceTable.map((def) => def.name));
type ServiceFn = (a: number, b: number, c: number) => unknown;

let kernel: Kernel | undefined;
const devices: DeviceContext[] = [];

/** Calls one service for `dev`; an unknown name is a bug of the client, never served. */
function serve(dev: DeviceContext, service: string, a: number, b: number, c: number): number {
  if (!serviceNames.has(service)) throw new Error(`owner: no service ${service}`);
  const fn = (dev as unknown as Record<string, ServiceFn>)[service]!;
  return fn.call(dev, a, b, c) as number;
}

const api = {
  /** Boots the owner's machine; the windows its devices chain in. */
  boot(o: ChainMachineOptions): ChainWindow[] {
    const booted = bootChainMachine(o);
    kernel = booted.kernel;
    return booted.windows;
  },

  /** Serves device `name` on `port` until the worker ends. */
  attach(port: MessagePort, name: string, transport: BaselineTransport): void {
    const dev = kernel!.device(name);
    devices.push(dev);
    if (transport === 'postMessage') {
      port.on('message', (request: ServiceRequest) => {
        port.postMessage(serve(dev, request[0], request[1], request[2], request[3]));
      });
      return;
    }
    const served: OwnerServiceApi = {
      call: (service, a, b, c) => serve(dev, service, a, b, c),
    };
    Comlink.expose(served, nodeEndpoint(port));
  },

  /** What was served, every refusal, and the checker's verdict on the machine. */
  report(): OwnerReport {
    const served: Record<string, number> = {};
    const refusals: string[] = [];
    for (const dev of devices) {
      served[dev.name] = dev.callTotal;
      for (const [service, stats] of dev.stats)
        for (const [reason, count] of stats.failures)
          refusals.push(`${dev.name}: ${service}: ${reason} (${count})`);
    }
    const violations = kernel!.check({ final: true }).map((v) => v.message);
    return { served, refusals, violations };
  },
};
export type OwnerWorkerApi = typeof api;

Comlink.expose(api, nodeEndpoint(parentPort!));
