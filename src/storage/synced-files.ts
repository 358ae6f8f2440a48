/**
 * Synchronous durable-file steps for the few places that run before the event loop serves
 * anyone (startup checks, the data-directory lock, a table's first WAL flush). The audit trail's
 * asynchronous twins are in src/cloudtrail/durable-fs.ts.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';

/** Flushes a directory's entries, so that a file created, renamed or linked in it stays so. */
export function syncDirectorySync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `text` to a new file (`wx`) or over one (`w`) and flushes it before returning. */
export function writeFileSyncedSync(path: string, text: string, flag: 'w' | 'wx', mode = 0o600): void {
  const fd = openSync(path, flag, mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
