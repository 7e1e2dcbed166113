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
  private onEnd: (() => void) | undefined;
  private onTimeout: (() => void) | undefined;

  /** The turn in progress: true when it ends, false when the watchdog ends it. */
  next(): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      this.onEnd = () => resolve(true);
      this.onTimeout = () => resolve(false);
    });
  }

  /** After the turn: nothing waits for it any more. */
  settled(): void {
    this.onEnd = undefined;
    this.onTimeout = undefined;
  }

  /** The actor let go has parked or finished. */
  end(): void {
    this.onEnd?.();
  }

  /** Fails the turn in progress if no turn started since the last tick. */
  watchdog(): NodeJS.Timeout {
    let seen = -1;
    const timer = setInterval(() => {
      if (this.onTimeout !== undefined && seen === this.started) this.onTimeout();
      seen = this.started;
    }, TURN_TIMEOUT_MS);
    timer.unref();
    return timer;
  }
}
