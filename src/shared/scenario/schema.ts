/**
 * The schema library of scenario checking: zod's tree-shakable `zod/mini` with its English
 * messages. Scenario loading runs in every worker of a run; the full `zod` package is about
 * 750 KB of the worker bundle and a quarter of a run's start-up, `zod/mini` about 40 KB. The
 * messages are zod's own (e.g. "Too big: expected number to be <=64"), the same as the full
 * package gives. Replay files and `merge` use it too, so that the command line, bundled, holds
 * no copy of the full package either.
 */
import { config, int, maximum, maxLength, minimum, minLength, number, string } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());

// Named, not a namespace: a namespace object re-exported keeps all of zod (every locale) in
// the bundle. Callers import this module as `z`.
export {
  _default,
  array,
  boolean,
  custom,
  discriminatedUnion,
  enum,
  int,
  literal,
  looseObject,
  maximum,
  maxLength,
  minimum,
  minLength,
  object,
  optional,
  positive,
  record,
  refine,
  regex,
  strictObject,
  string,
  number,
  unknown,
} from 'zod/mini';
export type { infer, input, output, ZodMiniType } from 'zod/mini';

/** An integer in [min, max]. */
export const intIn = (min: number, max: number) =>
  number().check(int(), minimum(min), maximum(max));

/** An integer of at least `min`. */
export const intFrom = (min: number) => number().check(int(), minimum(min));

/** A string of `min` to `max` characters. */
export const textOf = (min: number, max: number) => string().check(minLength(min), maxLength(max));

/** What a failed check reports: its first issue's path and message are shown. */
export interface SchemaError {
  readonly issues: readonly { readonly path: readonly PropertyKey[]; readonly message: string }[];
}
