// Starts a TypeScript worker entry when vmmsim runs from its sources (tests, tsx): Node 20
// cannot load a .ts file as a worker, so this registers tsx and imports the entry named in
// workerData. Built vmmsim (dist/) starts its .js entries directly and never loads this.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.vmmsimEntry);
