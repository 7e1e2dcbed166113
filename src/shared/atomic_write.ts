/**
 * Writes a whole file or nothing: the text goes to a temporary file beside the target, is
 * flushed to disk, and is renamed over the target, so a reader (or a crash, or Ctrl-C) never
 * sees half a report, replay file or trace. Not a lock: two writers of one path race, and
 * the last rename wins. A writer killed between the two (SIGKILL) leaves its temporary file;
 * the next write of the same path removes those of writers no longer alive.
 */
import {
  closeSync,
  fsyncSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';

let writes = 0;

/** True unless no process `pid` exists (a process of another user counts as alive). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Removes `.NAME.tmp-PID-N` files beside `path` whose writer PID has died. */
export function removeStaleTemporaries(path: string): string[] {
  const folder = dirname(path);
  const prefix = `.${basename(path)}.tmp-`;
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return removed; // the write itself will say what is wrong with the folder
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const match = /^(\d+)-\d+$/.exec(name.slice(prefix.length));
    const pid = Number(match?.[1]);
    if (match === null || pid === process.pid || alive(pid)) continue;
    rmSync(join(folder, name), { force: true });
    removed.push(name);
  }
  return removed;
}

/** Writes `text` to `path` atomically (temporary file, fsync, rename). */
export function writeFileAtomic(path: string, text: string): void {
  writes += 1;
  removeStaleTemporaries(path);
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
