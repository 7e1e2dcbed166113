// Starts a TypeScript pool-task module when vmmsim runs from its sources (tests, tsx):
// registers tsx, imports the entry named in workerData, and re-exports its default task
// function for piscina. Built vmmsim (dist/) hands piscina its .js module directly.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const entry = await import(workerData.vmmsimEntry);
export default entry.default;
