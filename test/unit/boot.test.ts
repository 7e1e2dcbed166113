import { describe, expect, it } from 'vitest';
import { createKernel, presets } from '../../src/index.js';

describe('createKernel', () => {
  it('boots a machine the checker finds sound', () => {
    const kernel = createKernel(presets.testMin);
    expect(kernel.check()).toEqual([]);
    expect(kernel.phase).toBe(-1);
  });

  it('refuses an option out of range, naming it', () => {
    expect(() => createKernel({ ramPages: 10 })).toThrow(/ramPages/);
    expect(() => createKernel({ locking: 'coarse' as never })).toThrow(/locking/);
  });
});
