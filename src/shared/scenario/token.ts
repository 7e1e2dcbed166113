/**
 * Page tokens: 16 self-checking bytes a writer stamps on a page so that a reader can tell
 * whose data it is and that it is whole. The stress workload (src/workers) and the built-in
 * models (models/) both stamp them; it lives here so that neither layer reaches into the
 * other.
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
