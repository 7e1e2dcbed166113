/** The one error of scenario loading and checking. */
import { printable } from '../printable.js';

/** A scenario file or module that is wrong: the message names the field. Exit code 2. */
export class ScenarioError extends Error {
  override name = 'ScenarioError';
  constructor(message: string) {
    super(printable(message));
  }
}
