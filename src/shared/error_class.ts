/**
 * `instanceof` for vmmsim's public error classes, across copies of the package. The actor
 * worker and the command line run as bundles, so a scenario module that imports 'vmmsim'
 * gets its own copy of each class while the bundle's kernel throws the bundle's copy. Each
 * class's prototype carries a registered symbol naming it, and its `Symbol.hasInstance`
 * reads that symbol: `error instanceof PageFaultError` holds whichever copy made the error.
 * A subclass keeps the usual prototype rule.
 */
const CLASS = Symbol.for('vmmsim.errorClass');

/** Makes `instanceof cls` hold for an error of the class `name` of any copy of vmmsim. */
export function errorClass(cls: abstract new (...args: never[]) => Error, name: string): void {
  Object.defineProperty(cls.prototype, CLASS, { value: name });
  Object.defineProperty(cls, Symbol.hasInstance, {
    value(this: object, value: unknown): boolean {
      if (this === cls && typeof value === 'object' && value !== null) {
        if ((value as { [CLASS]?: unknown })[CLASS] === name) return true;
      }
      return Function.prototype[Symbol.hasInstance].call(this, value);
    },
  });
}
