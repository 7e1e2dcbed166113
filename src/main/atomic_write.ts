/**
 * Writes a whole file or nothing: the text goes to a temporary file beside the target, is
 * flushed to disk, and is renamed over the target, so a reader (or a crash, or Ctrl-C) never
 * sees half a report, replay file or trace. Not a lock: two writers of one path race, and
 * the last rename wins.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

let writes = 0;

/** Writes `text` to `path` atomically (temporary file, fsync, rename). */
export function writeFileAtomic(path: string, text: string): void {
  writes += 1;
  const temporary = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${writes}`);
  try {
    const fd = openSync(temporary, 'w');
    try {
      const bytes = Buffer.from(text, 'utf8');
      for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}
