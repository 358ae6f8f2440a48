/**
 * One sealdb process per data directory. Two would each count the audit trail's sealed frames
 * and the tables' pages on their own and damage both, so `start` takes this lock before it
 * writes anything, and a second process fails at once, naming the holder.
 *
 * Node has no flock, so the lock is a file, `sealdb.lock`, made complete under a temporary name
 * (written and fsync'd) and then hard-linked into place: link(2) fails with EEXIST atomically,
 * so a reader never sees a half-written lock. A lock is stale, and is taken over, when its holder
 * is gone: its PID is not alive, or is alive but is another process (the PID was reused: on Linux
 * its start time in /proc/<pid>/stat or the boot id differs), or it was made for another
 * directory (the data directory was copied, lock and all).
 */
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { syncDirectorySync, writeFileSyncedSync } from './synced-files.js';

export const LOCK_FILE = 'sealdb.lock';

interface LockRecord {
  readonly pid: number;
  /** Linux: field 22 of /proc/<pid>/stat (clock ticks since boot), to tell a reused PID apart. */
  readonly procStart?: string;
  readonly bootId?: string;
  readonly host: string;
  /** `dev:ino` of the data directory the lock was made in. */
  readonly dir: string;
  /** Wall-clock ISO time, for the operator only (the service clock may be a test's). */
  readonly startedAt: string;
}

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockRecord,
    reason: string,
  ) {
    super(
      `the data directory ${dataDir} is in use by another sealdb process (PID ${holder.pid}` +
        `${holder.host !== hostname() ? ` on host ${holder.host}` : ''}, started ${holder.startedAt}; ` +
        `lock file ${join(dataDir, LOCK_FILE)}). ${reason}`,
    );
    this.name = 'DataDirLockedError';
  }
}

export class DataDirLock {
  #released = false;
  private constructor(
    readonly path: string,
    readonly record: LockRecord,
  ) {}

  /** Takes the lock on `dataDir` (created 0700 if need be), or throws `DataDirLockedError`. */
  static acquire(dataDir: string): DataDirLock {
    const dir = resolve(dataDir);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, LOCK_FILE);
    const record = ownRecord(dir);
    const text = `${JSON.stringify(record)}\n`;
    // A stale lock is replaced only by whoever first moves it aside, so two starts that both find
    // it stale cannot both win; a few rounds cover a holder that is just releasing its lock.
    for (let attempt = 0; attempt < 5; attempt++) {
      if (tryLink(dir, path, text)) return new DataDirLock(path, record);
      const current = readLock(path);
      if (current === 'gone') continue;
      if (current === 'damaged') {
        throw new Error(
          `the lock file ${path} is damaged (not a sealdb lock). If no sealdb process uses ${dir}, ` +
            'delete the lock file and start again.',
        );
      }
      const verdict = judge(current.record, dir);
      if (verdict !== 'stale') throw new DataDirLockedError(dir, current.record, verdict);
      takeOver(path, current.text);
    }
    throw new Error(`could not take the lock file ${path}: other sealdb processes keep starting on ${dir}`);
  }

  /** Removes the lock if it is still this process's (idempotent). */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    const current = readLock(this.path);
    if (typeof current === 'object' && current.text === `${JSON.stringify(this.record)}\n`) {
      try {
        unlinkSync(this.path);
      } catch {
        // Already gone: nothing to release.
      }
    }
  }
}

function ownRecord(dir: string): LockRecord {
  const procStart = processStart(process.pid);
  const bootId = readOptional('/proc/sys/kernel/random/boot_id');
  const stats = statSync(dir);
  return {
    pid: process.pid,
    ...(procStart !== undefined ? { procStart } : {}),
    ...(bootId !== undefined ? { bootId } : {}),
    host: hostname(),
    dir: `${stats.dev}:${stats.ino}`,
    startedAt: new Date().toISOString(),
  };
}

/** Writes the complete lock under a private name, then links it into place (atomic, EEXIST if held). */
function tryLink(dir: string, path: string, text: string): boolean {
  const temp = join(dir, `${LOCK_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  writeFileSyncedSync(temp, text, 'wx');
  try {
    linkSync(temp, path);
    syncDirectorySync(dir);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(temp);
  }
}

type ReadLock = { readonly record: LockRecord; readonly text: string } | 'gone' | 'damaged';

function readLock(path: string): ReadLock {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw error;
  }
  try {
    const record = JSON.parse(text) as Partial<LockRecord>;
    if (
      Number.isInteger(record.pid) &&
      (record.pid as number) > 0 &&
      typeof record.host === 'string' &&
      typeof record.dir === 'string' &&
      typeof record.startedAt === 'string'
    ) {
      return { record: record as LockRecord, text };
    }
  } catch {
    // Reported as damaged below.
  }
  return 'damaged';
}

/** 'stale', or why the holder is taken to be alive (the operator's next step). */
function judge(holder: LockRecord, dir: string): string {
  const stats = statSync(dir);
  // A copy of a data directory carries its original's lock: it is no lock on the copy.
  if (holder.dir !== `${stats.dev}:${stats.ino}`) return 'stale';
  const stop = 'Stop that process first, or give another --data-dir.';
  if (holder.host !== hostname()) {
    return `sealdb cannot tell whether a process on another host is alive: ${stop} If it is no longer running, delete the lock file.`;
  }
  const own = readOptional('/proc/sys/kernel/random/boot_id');
  if (holder.bootId !== undefined && own !== undefined && holder.bootId !== own) return 'stale';
  if (holder.pid === process.pid) {
    const mine = processStart(process.pid);
    // The same PID in an earlier process (reused after a crash), or this very process.
    if (holder.procStart !== undefined && mine !== undefined && holder.procStart !== mine) return 'stale';
    return 'It is this process: close the server running on this data directory first.';
  }
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return 'stale';
    // EPERM: alive, under another user.
  }
  const stat = procStat(holder.pid);
  // A zombie (killed, not yet reaped by its parent) still answers kill(pid, 0).
  if (stat && (stat.state === 'Z' || stat.state === 'X')) return 'stale';
  if (holder.procStart !== undefined && stat && stat.start !== holder.procStart) return 'stale';
  return stop;
}

/**
 * Moves the stale lock aside; rename(2) is atomic, so of several starters that judged it stale only
 * one moves it. One that moved a fresh lock instead (made meanwhile by the winner) puts it back.
 */
function takeOver(path: string, judged: string): void {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    if (readFileSync(aside, 'utf8') !== judged) linkSync(aside, path);
  } finally {
    unlinkSync(aside);
  }
}

/** State and start time (field 22, clock ticks since boot) from /proc/<pid>/stat (Linux only). */
function procStat(pid: number): { state: string; start: string | undefined } | undefined {
  const stat = readOptional(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // After the command name, which may hold spaces and ')': fields[0] is field 3 (state).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', start: fields[19] };
}

const processStart = (pid: number): string | undefined => procStat(pid)?.start;

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}
