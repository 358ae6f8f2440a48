/**
 * The few file operations the trail needs, each durable when it returns: a file is either wholly
 * there under its final name or not there at all, and a created or removed name survives a crash.
 */
import { randomBytes } from 'node:crypto';
import { constants, type Dirent } from 'node:fs';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Flushes a directory's entries, so that a file created, renamed or removed in it stays so. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function ensureDirectory(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

/** Writes to a temporary name, syncs, renames over `path`, syncs the directory. */
export async function writeFileDurably(path: string, bytes: Buffer, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  await ensureDirectory(dir);
  const temp = join(dir, `.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
  await syncDirectory(dir);
}

export async function removeDurably(path: string): Promise<void> {
  await rm(path, { force: true });
  await syncDirectory(dirname(path));
}

/** Every file below `dir` as a `/`-separated path relative to `base`; [] when `dir` does not exist. */
export async function listFiles(base: string, dir: string): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(join(base, dir), { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const out: string[] = [];
  for (const entry of entries) {
    const relative = dir === '' ? entry.name : `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...(await listFiles(base, relative)));
    else if (entry.isFile() && !entry.name.endsWith('.tmp')) out.push(relative);
  }
  return out.sort();
}
