/**
 * The worker threads of one benchmark point: started from src/workers like every vmmsim
 * worker (spawnWorker), reached over comlink, always terminated. A worker that fails to
 * load, throws, exits or stops answering turns every pending wait into an error that names
 * it — a benchmark never hangs on a dead thread, and never times one.
 */
import * as Comlink from 'comlink';
import type { Worker } from 'node:worker_threads';
import { nodeEndpoint } from '../src/workers/endpoint.js';
import { spawnWorker } from '../src/workers/spawn.js';

/** Bound on any one wait for a worker: far above any window, far below forever. */
const ANSWER_MS_MAX = 120_000;

export class Threads {
  private readonly workers: Worker[] = [];
  private readonly failed: Promise<never>;
  private fail: (error: Error) => void = () => undefined;
  private stopping = false;

  constructor(private readonly label: string) {
    this.failed = new Promise<never>((_, reject) => {
      this.fail = reject;
    });
    this.failed.catch(() => undefined); // observed through guard(); never unhandled
  }

  /** Starts a worker entry (a name in src/workers, or a module's URL) and returns its API. */
  spawn<T>(entry: string | URL, workerData: Record<string, unknown>): Comlink.Remote<T> {
    const name = typeof entry === 'string' ? entry : entry.pathname.replace(/.*\//, '');
    const worker = spawnWorker(entry, workerData);
    const index = this.workers.length;
    this.workers.push(worker);
    worker.on('error', (error: Error) =>
      this.fail(new Error(`${this.label}: ${name} ${index} threw: ${error.message}`)),
    );
    worker.on('exit', (code) => {
      if (!this.stopping) this.fail(new Error(`${this.label}: ${name} ${index} exited (${code})`));
    });
    return Comlink.wrap<T>(nodeEndpoint(worker));
  }

  /** `work`, unless a worker fails or it takes longer than any benchmark should. */
  async guard<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${this.label}: no answer in ${ANSWER_MS_MAX / 1000} s`)),
        ANSWER_MS_MAX,
      );
    });
    try {
      return await Promise.race([work, this.failed, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Terminates every worker (the end of a point, measured or failed). */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
