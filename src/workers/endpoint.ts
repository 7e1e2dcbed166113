/**
 * comlink's Node adapter, typed. The adapter is a UMD module: Node's ESM loader hands its
 * module.exports (the function) as the default export, while its typings describe a
 * `default` property; this file is the one place that reconciles the two.
 */
import type { MessagePort, Worker } from 'node:worker_threads';
import type { Endpoint } from 'comlink';
import adapter from 'comlink/dist/umd/node-adapter.js';

type NodeEndpointFn = (port: MessagePort | Worker) => Endpoint;

export const nodeEndpoint = adapter as unknown as NodeEndpointFn;
