/**
 * What moving one cache line between two threads costs on this machine, window by window:
 * two fresh worker threads hand one word of a SharedArrayBuffer back and forth, and each
 * window prints the nanoseconds per round trip. The one-shared-region benchmark moves such
 * lines on every call, so its ratio follows this figure; it is not a vmmsim benchmark itself.
 * Run from dist: `node dist/bench/line_pingpong.js [windows]` (default 10).
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

const ROUND_TRIPS = 200_000;

interface Job {
  sab: SharedArrayBuffer;
  me: 0 | 1;
}

/** One side: waits for its turn on word 0 and passes the turn on (a spin: both run). */
function side({ sab, me }: Job): number {
  const words = new Int32Array(sab);
  Atomics.add(words, 16, 1); // word 16 (another line): both sides start together
  while (Atomics.load(words, 16) < 2) {
    // spin until the other side is running too
  }
  const started = performance.now();
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const turn = 2 * i + me;
    while (Atomics.load(words, 0) !== turn) {
      // the other side's turn
    }
    Atomics.store(words, 0, turn + 1);
  }
  return ((performance.now() - started) * 1e6) / ROUND_TRIPS;
}

async function window(): Promise<number> {
  const sab = new SharedArrayBuffer(128);
  const results = [0, 1].map(
    (me) =>
      new Promise<number>((resolve, reject) => {
        const worker = new Worker(new URL(import.meta.url), { workerData: { sab, me } });
        worker.once('message', resolve);
        worker.once('error', reject);
      }),
  );
  return (await Promise.all(results))[0]!;
}

if (isMainThread) {
  const windows = Number(process.argv[2] ?? 10);
  for (let i = 0; i < windows; i++)
    process.stdout.write(`window ${i}: ${(await window()).toFixed(0)} ns per round trip\n`);
} else {
  parentPort!.postMessage(side(workerData as Job));
}
