/** The one error of scenario loading and checking. */
import { printable } from '../printable.js';
import { errorClass } from '../error_class.js';

/** A scenario file or module that is wrong: the message names the field. Exit code 2. */
export class ScenarioError extends Error {
  static {
    errorClass(this, 'ScenarioError');
  }
  override name = 'ScenarioError';
  constructor(message: string) {
    super(printable(message));
  }
}
