// The package's error classes answer instanceof for an error made by another copy of the
// package: the actor worker and the command line are bundles, so a scenario module that
// imports 'vmmsim' holds other class objects than the kernel that throws.
import { describe, expect, it } from 'vitest';
import * as assertA from '../../src/shared/assert.js';
import * as configA from '../../src/shared/config.js';
import * as lockA from '../../src/shared/lock.js';
import * as accessA from '../../src/shared/memory_access.js';
import * as scenarioErrorA from '../../src/shared/scenario/scenario_error.js';

/** A second copy of a module: the same file under another URL is another module instance. */
const copy = (path: string): Promise<Record<string, unknown>> =>
  import(/* @vite-ignore */ `${new URL(path, import.meta.url).href}?copy`);

type ErrorClass = new (...args: never[]) => Error;

const made = (cls: ErrorClass, name: string): Error => {
  const args: Record<string, unknown[]> = {
    PageFaultError: [0x1000, false, false, false],
    LockTimeoutError: [1, 2, 3],
    OwnerDeadError: [1, 2],
  };
  return new (cls as unknown as new (...a: unknown[]) => Error)(...(args[name] ?? ['message']));
};

const classes: [string, Record<string, unknown>, string][] = [
  ['PageFaultError', accessA, '../../src/shared/memory_access.ts'],
  ['AssertionError', assertA, '../../src/shared/assert.ts'],
  ['OptionError', configA, '../../src/shared/config.ts'],
  ['LockTimeoutError', lockA, '../../src/shared/lock.ts'],
  ['OwnerDeadError', lockA, '../../src/shared/lock.ts'],
  ['ScenarioError', scenarioErrorA, '../../src/shared/scenario/scenario_error.ts'],
];

describe('error classes across copies of the package', () => {
  it.each(classes)(
    '%s of another copy is an instance of this copy’s class',
    async (name, a, path) => {
      const A = a[name] as ErrorClass;
      const B = (await copy(path))[name] as ErrorClass;
      expect(B).not.toBe(A); // really two copies
      expect(made(B, name)).toBeInstanceOf(A);
      expect(made(A, name)).toBeInstanceOf(B);
      expect(made(A, name)).toBeInstanceOf(Error);
    },
  );

  it('another class, a plain Error and a non-object are not instances', () => {
    const fault = made(accessA.PageFaultError, 'PageFaultError');
    expect(fault instanceof assertA.AssertionError).toBe(false);
    expect(new Error('x') instanceof accessA.PageFaultError).toBe(false);
    expect((null as unknown) instanceof accessA.PageFaultError).toBe(false);
    expect(('PageFaultError' as unknown) instanceof accessA.PageFaultError).toBe(false);
  });

  it('a subclass keeps the prototype rule, and is an instance of its base in any copy', async () => {
    class Mine extends assertA.AssertionError {}
    const B = (await copy('../../src/shared/assert.ts')).AssertionError as ErrorClass;
    expect(new Mine('m')).toBeInstanceOf(assertA.AssertionError);
    expect(new Mine('m')).toBeInstanceOf(B);
    expect(new assertA.AssertionError('a') instanceof Mine).toBe(false);
    expect(made(B, 'AssertionError') instanceof Mine).toBe(false);
  });
});
