/**
 * Turns of a controlled run: the scheduler lets one actor go and waits until it parks at its
 * next scheduling point or finishes. One watchdog timer per run (not one per turn: a turn is
 * microseconds) ends a turn that makes no progress. Wall-clock time never picks an actor: it
 * only ends a run that hangs.
 */
const TURN_TIMEOUT_MS = 2_000;

export class Turns {
  /** Turns begun so far (the run counts them before it lets an actor go). */
  started = 0;
  /** Settles the turn in progress: true when it ended, false when the watchdog ended it. */
  private settle: ((ended: boolean) => void) | undefined;

  /** The turn in progress: true when it ends, false when the watchdog ends it. */
  next(): Promise<boolean> {
    return new Promise<boolean>((resolve) => (this.settle = resolve));
  }

  /** After the turn: nothing waits for it any more. */
  settled(): void {
    this.settle = undefined;
  }

  /** The actor let go has parked or finished. */
  end(): void {
    this.settle?.(true);
  }

  /** Fails the turn in progress if no turn started since the last tick. */
  watchdog(): NodeJS.Timeout {
    let seen = -1;
    const timer = setInterval(() => {
      if (this.settle !== undefined && seen === this.started) this.settle(false);
      seen = this.started;
    }, TURN_TIMEOUT_MS);
    timer.unref();
    return timer;
  }
}
