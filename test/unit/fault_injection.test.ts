// The injected faults on one thread: what each one does inside the critical section it fires
// in. The same faults with real workers dying are in test/concurrency/faults.test.ts.
import { describe, expect, it } from 'vitest';
import { createKernel } from '../../src/index.js';
import { check } from '../../src/shared/checker.js';
import { H, LOCK_COMMON_FIRST, LOCK_FREE_LIST } from '../../src/shared/layout.js';
import { armFault } from '../../src/workers/faults.js';

describe('fault injection: invert', () => {
  it('at interrupt time with nothing interrupt-safe to invert, waits for a task-time acquisition', () => {
    // Regression: the inversion took the V86 data area lock inside an interrupt handler, so a
    // run reported an interrupt-lock violation besides the lock-order one it planted.
    const kernel = createKernel({ lockOrder: 'report' });
    const dev = kernel.device('faulty');
    armFault(dev, { kind: 'invert', acquisitions: 1 });
    const l = kernel.layout;
    Atomics.store(l.header, H.faultCountdown, 1);
    dev.atInterrupt(() => {
      dev.locker.acquire(LOCK_COMMON_FIRST + 1);
      dev.locker.release(LOCK_COMMON_FIRST + 1);
    });
    expect(check(l).map((v) => v.kind)).toEqual([]); // deferred, nothing taken
    expect(Atomics.load(l.header, H.faultCountdown)).toBe(1);
    dev.locker.acquire(LOCK_FREE_LIST);
    dev.locker.release(LOCK_FREE_LIST);
    expect(check(l).map((v) => v.kind)).toEqual(['lock-order']);
  });

  it('at task time, inverts against the V86 data area lock', () => {
    const kernel = createKernel({ lockOrder: 'report' });
    const dev = kernel.device('faulty');
    armFault(dev, { kind: 'invert', acquisitions: 1 });
    Atomics.store(kernel.layout.header, H.faultCountdown, 1);
    dev.locker.acquire(LOCK_COMMON_FIRST + 1);
    dev.locker.release(LOCK_COMMON_FIRST + 1);
    const order = check(kernel.layout).filter((v) => v.kind === 'lock-order');
    expect(order).toHaveLength(1);
    expect(order[0]!.message).toMatch(/V86 data area lock .* taken while holding page table lock/);
  });
});
