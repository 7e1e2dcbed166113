/**
 * How big a machine's SharedArrayBuffer is, known before anything is allocated, and the check
 * that refuses one too big with the bytes it asks for and the limit. The sizes come from the
 * layout's own region table; this file allocates nothing.
 */
import { limits, type MachineOptions, OptionError, resolveOptions } from './config.js';
import { computeRegions } from './layout.js';

/** Bytes of the buffer a machine with these options needs (every region, aligned). */
export function bufferBytes(options: MachineOptions): number {
  const last = computeRegions(options).at(-1)!;
  return last.offset + last.bytes;
}

/** A byte count as people read it: 41,320,005,632 bytes (38.5 GiB). */
export function formatBytes(bytes: number): string {
  const digits = bytes < 1e15 ? bytes.toLocaleString('en-US') : bytes.toExponential(2);
  const units: [number, string][] = [
    [2 ** 30, 'GiB'],
    [2 ** 20, 'MiB'],
  ];
  const unit = units.find(([size]) => bytes >= size);
  const short = unit === undefined ? '' : ` (${(bytes / unit[0]).toFixed(1)} ${unit[1]})`;
  return `${digits} bytes${short}`;
}

/**
 * Resolves and checks machine options (resolveOptions) and returns them with the size of
 * their buffer. A ramPages past limits.ramPagesMax is refused with the bytes the buffer would
 * need and the bytes of the largest machine allowed, before anything is allocated. Throws
 * OptionError; its message starts with the option's name.
 */
export function checkMachine(options: Partial<MachineOptions> = {}): {
  options: MachineOptions;
  bytes: number;
} {
  const ramPages = options.ramPages;
  if (typeof ramPages === 'number' && Number.isInteger(ramPages) && ramPages > limits.ramPagesMax) {
    const largest = resolveOptions({ ...options, ramPages: limits.ramPagesMax });
    throw new OptionError(
      `ramPages ${ramPages} asks for a SharedArrayBuffer of ` +
        `${formatBytes(bufferBytes({ ...largest, ramPages }))}; the limit is ramPages ` +
        `${limits.ramPagesMax} (1 GiB of RAM), a buffer of ${formatBytes(bufferBytes(largest))}`,
    );
  }
  const resolved = resolveOptions(options);
  return { options: resolved, bytes: bufferBytes(resolved) };
}
