/**
 * The one seeded pseudo-random generator (xoshiro128**, seeded through splitmix32). All
 * randomness in code that a replay must repeat comes from here; Math.random never does.
 * Integer API only.
 */
import { fail } from './assert.js';

export class Prng {
  private a!: number;
  private b!: number;
  private c!: number;
  private d!: number;

  constructor(seed: number) {
    this.reseed(seed);
  }

  /** Starts the generator over from `seed`, as a new Prng(seed) would (no allocation). */
  reseed(seed: number): void {
    if (!Number.isInteger(seed)) fail('Prng: seed must be an integer');
    let s = seed >>> 0;
    s = (s + 0x9e3779b9) >>> 0;
    this.a = mix32(s);
    s = (s + 0x9e3779b9) >>> 0;
    this.b = mix32(s);
    s = (s + 0x9e3779b9) >>> 0;
    this.c = mix32(s);
    s = (s + 0x9e3779b9) >>> 0;
    this.d = mix32(s);
  }

  /** A uniformly distributed 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.b << 9) >>> 0;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** An integer in [0, bound). */
  int(bound: number): number {
    if (!(Number.isInteger(bound) && bound > 0 && bound <= 0x100000000))
      fail('Prng.int: bad bound');
    return Math.floor((this.nextU32() / 0x100000000) * bound);
  }

  /** An integer in [min, max]. */
  range(min: number, max: number): number {
    if (!(max >= min)) fail('Prng.range: max < min');
    return min + this.int(max - min + 1);
  }

  /** True with probability numerator/denominator. */
  chance(numerator: number, denominator: number): boolean {
    return this.int(denominator) < numerator;
  }

  pick<T>(items: readonly T[]): T {
    if (!(items.length > 0)) fail('Prng.pick: empty list');
    return items[this.int(items.length)]!;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * The seed of an actor's generator for its `step`-th step (0: boot and control messages):
 * each step draws from its own stream, so that what an actor draws in one step never
 * depends on how many steps of other actors ran before it, or on steps a shrink removed.
 */
export function stepSeed(actorSeed: number, step: number): number {
  return step === 0
    ? actorSeed >>> 0
    : (Math.imul(actorSeed ^ 0x5bd1e995, 0x01000193) + step) >>> 0;
}

/** splitmix32's output function. */
function mix32(value: number): number {
  let z = value;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}
