/**
 * The worker side of free-physical-region requests when devices live in other workers:
 * Request 0 is a counter the coordinator polls (asynchronous notice); Request 1 is posted in
 * the actor's slot and waited for, with a bound, while the coordinator runs the callback
 * chain in the devices' workers. A bound passed means "no pages were freed": the
 * allocation fails with the DDK's failure value instead of hanging.
 */
import { isMainThread } from 'node:worker_threads';
import type { CallbackDispatcher } from '../shared/kernel.js';
import { freeCount } from '../shared/frames.js';
import type { Layout } from '../shared/layout.js';
import { anyCallbackRegistered } from '../shared/kernel_callbacks.js';
import { noteFreeListGrew, requestPages } from '../shared/protocol.js';

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
    noteFreeListGrew(this.l);
  }

  pagesNeeded(count: number): boolean {
    if (isMainThread) return false;
    // No callback registered: the chain would call nobody and free nothing.
    if (!anyCallbackRegistered(this.l)) return false;
    const before = freeCount(this.l);
    requestPages(this.l, this.actor, count, this.waitMs);
    return freeCount(this.l) > before;
  }
}
