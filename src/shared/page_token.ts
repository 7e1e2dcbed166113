/**
 * Page tokens: 16 bytes a workload writes at the start of a page so that a later read can
 * tell whose page it is and whether its bytes survived (the stress workload and the built-in
 * models check data with them).
 */

export const TOKEN_BYTES = 16;
const TOKEN_MAGIC = 0x4e4b5456; // 'VTKN'

/** A 16-byte page token: magic, writer, counter, and a hash of the two. */
export function makeToken(writer: number, counter: number): Uint8Array {
  const words = new Uint32Array([TOKEN_MAGIC, writer, counter, tokenHash(writer, counter)]);
  return new Uint8Array(words.buffer);
}

function tokenHash(writer: number, counter: number): number {
  return (Math.imul(writer ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(counter, 0xc2b2ae35)) >>> 0;
}

/** The token's key if `bytes` hold a valid token, else undefined. */
export function readToken(bytes: Uint8Array): string | undefined {
  const words = new Uint32Array(bytes.slice(0, TOKEN_BYTES).buffer);
  if (words[0] !== TOKEN_MAGIC || words[3] !== tokenHash(words[1]!, words[2]!)) return undefined;
  return `${words[1]}:${words[2]}`;
}

/** Whether two byte arrays hold the same bytes. */
export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((v, i) => v === b[i]);
