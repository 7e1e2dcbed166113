/**
 * The worker side of free-physical-region requests when devices live in other workers:
 * Request 0 is a counter the coordinator polls (asynchronous notice); Request 1 is posted in
 * the actor's slot and waited for, with a bound, while the coordinator runs the callback
 * chain in the devices' workers. A bound passed means "no pages were freed": the
 * allocation fails with the DDK's failure value instead of hanging.
 */
import { isMainThread } from 'node:worker_threads';
import type { CallbackDispatcher } from '../shared/kernel.js';
import { AC, ACTOR_WORDS, H, type Layout } from '../shared/layout.js';
import { futexWait, futexWake } from '../shared/lock.js';

export class RemoteCallbacks implements CallbackDispatcher {
  /**
   * Callbacks of this worker running now. Pages they free are not a new notice: as in the
   * VMM, the surplus is reported by the next Request 0 that another insertion causes.
   */
  inCallback = 0;

  constructor(
    private readonly l: Layout,
    private readonly actor: number,
    private readonly waitMs: number,
  ) {}

  freeListGrew(): void {
    if (this.inCallback > 0) return;
    Atomics.add(this.l.header, H.callbackPending, 1);
  }

  pagesNeeded(count: number): boolean {
    if (isMainThread) return false;
    // No callback registered: the chain would call nobody and free nothing.
    if (Atomics.load(this.l.header, H.calbkCount) === 0) return false;
    const base = this.actor * ACTOR_WORDS;
    const before = Atomics.load(this.l.header, H.freeCount);
    const seq = Atomics.load(this.l.actors, base + AC.pressureSeq);
    Atomics.store(this.l.actors, base + AC.pressure, count);
    // Wakes the coordinator, which sleeps on this word (Atomics.waitAsync) between polls.
    Atomics.add(this.l.header, H.pressureRequests, 1);
    futexWake(this.l.header, H.pressureRequests);
    const deadline = performance.now() + this.waitMs;
    while (Atomics.load(this.l.actors, base + AC.pressureSeq) === seq) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      futexWait(this.l.actors, base + AC.pressureSeq, seq, left);
    }
    Atomics.store(this.l.actors, base + AC.pressure, 0);
    return Atomics.load(this.l.header, H.freeCount) > before;
  }
}
