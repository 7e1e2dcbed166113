/**
 * Assertions for what must never happen. A broken assertion is a finding, never a return
 * value: DDK failures are return values (see STYLE.md, "two kinds of error").
 */

export class AssertionError extends Error {
  override name = 'AssertionError';
}

/** Throws AssertionError with `message` ("function: the broken fact") unless `condition`. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Marks a switch as exhaustive at compile time and at run time. */
export function unreachable(value: never): never {
  throw new AssertionError(`unreachable: ${String(value)}`);
}
