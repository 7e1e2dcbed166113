/**
 * Free_Phys_Reg callbacks in a controlled run: the kernel's requests are noted (Request 0: the
 * free list grew; Request 1: an allocation wanted pages and failed) and their chains run
 * between two steps, without scheduling choices, in the order phases.ts callbackChain gives.
 */
import { FREE_PHYS_REG_AVAILABLE, FREE_PHYS_REG_NEEDED } from '../../shared/constants.js';
import { freeCount } from '../../shared/frames.js';
import type { Kernel } from '../../shared/kernel.js';
import { callbackChain, driveAsync } from '../../shared/phases.js';
import type { Trace } from '../../shared/trace.js';
import type { VirtualClock } from './controlled_hosts.js';
import type { Actor } from './controlled_types.js';

export class ControlledChains {
  private request0 = false;
  private request1 = 0;
  /** A callback ran since the last time explore looked (its footprint is then everything). */
  ran = false;

  constructor(
    private readonly kernel: Kernel,
    private readonly actors: readonly Actor[],
    private readonly isDropped: (actor: Actor) => boolean,
    private readonly clock: VirtualClock,
    private readonly trace: Trace | undefined,
  ) {
    kernel.setCallbackDispatcher({
      freeListGrew: () => void (this.request0 = true),
      pagesNeeded: (count) => {
        this.request1 = Math.max(this.request1, count);
        return false; // the chain runs at the next scheduling point; this allocation fails
      },
    });
  }

  /**
   * Whether run() has a chain to run. With no callback registered a chain calls no one, so
   * the requests are dropped here as run() would drop them, and nothing waits a tick.
   */
  pending(request0Only: boolean): boolean {
    const request1 = this.request1 > 0 && !request0Only;
    if (!request1 && !this.request0 && !request0Only) return false;
    if (this.kernel.callbackCount() > 0) return true;
    if (request1) this.request1 = 0;
    this.request0 = false;
    return false;
  }

  /** Runs the queued Request 1 then Request 0 chain (`request0Only`: after Init_Complete). */
  async run(request0Only: boolean): Promise<void> {
    const owners = this.kernel.callbackOwners().filter((o) => {
      const owner = this.actors.find((a) => a.ctx.actor === o.actor);
      return owner !== undefined && !this.isDropped(owner);
    });
    const chain = (request: number, count: number): Promise<boolean> =>
      driveAsync(callbackChain(this.kernel.layout, owners), async (owner) => {
        const from = this.clock.now;
        this.ran = true;
        const carry = await this.kernel.runCallback(owner.id, request, count);
        const tid = this.actors.findIndex((a) => a.ctx.actor === owner.actor) + 1;
        const dur = Math.max(this.clock.now - from, 1);
        this.trace?.slice(tid, `callback Request ${request}`, from, dur, { count, carry });
        return carry;
      });
    if (this.request1 > 0 && !request0Only) {
      const count = this.request1;
      this.request1 = 0;
      await chain(FREE_PHYS_REG_NEEDED, count);
    }
    if (this.request0 || request0Only) {
      this.request0 = false;
      const free = freeCount(this.kernel.layout);
      if (free > 0) await chain(FREE_PHYS_REG_AVAILABLE, free);
      this.request0 = false;
    }
  }
}
