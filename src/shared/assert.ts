/**
 * Assertions for what must never happen. A broken assertion is a finding, never a return
 * value: DDK failures are return values (see STYLE.md, "two kinds of error").
 */
import { errorClass } from './error_class.js';

/**
 * Assertions for what must never happen. A broken assertion is a finding, never a return
 * value: DDK failures are return values (see STYLE.md, "two kinds of error").
 */
export class AssertionError extends Error {
  static {
    errorClass(this, 'AssertionError');
  }
  override name = 'AssertionError';
}

/**
 * Throws AssertionError with `message` ("function: the broken fact") unless `condition`.
 * Hot paths pass a constant message and the variable part as `detail`, so that no string
 * is built unless the assertion fails.
 */
export function assert(
  condition: unknown,
  message: string,
  detail?: number | string,
): asserts condition {
  if (!condition)
    throw new AssertionError(detail === undefined ? message : `${message} (${detail})`);
}

/**
 * The failing half of an assertion on a hot path, written `if (!(condition)) fail(message,
 * detail)`: the test stays inline in the caller, and nothing is called unless it fails (a
 * call to assert() is a call whenever the caller's inlining budget is spent).
 */
export function fail(message: string, detail?: number | string): never {
  throw new AssertionError(detail === undefined ? message : `${message} (${detail})`);
}

/** Marks a switch as exhaustive at compile time and at run time. */
export function unreachable(value: never): never {
  throw new AssertionError(`unreachable: ${String(value)}`);
}
