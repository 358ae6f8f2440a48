/**
 * The local directory that stands in for S3 (`--export-dir`): bucket `B` is the folder `<dir>/B`
 * (which must exist, as a bucket must), and the object key `K` is the file `<dir>/B/K` (the
 * key's `/` separate folders). Keys are S3 keys, so an S3Prefix is a string prefix, not a folder.
 * A key with an empty, `.` or `..` segment has no file of its own and is refused.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { validationError } from '../errors.js';

export class LocalBuckets {
  constructor(readonly root: string) {}

  bucketExists(bucket: string): boolean {
    try {
      return statSync(join(this.root, bucket)).isDirectory();
    } catch {
      return false;
    }
  }

  /** Writes an object whole (a temporary name, then a rename: a reader never sees half a file). */
  put(bucket: string, key: string, data: Uint8Array): void {
    const file = this.#file(bucket, key);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const temporary = `${file}.sealdb-partial`;
    writeFileSync(temporary, data, { mode: 0o600 });
    renameSync(temporary, file);
  }

  get(bucket: string, key: string): Buffer {
    return readFileSync(this.#file(bucket, key));
  }

  /** Every object key starting with `prefix`, in S3's (UTF-8 byte) order. */
  list(bucket: string, prefix: string): string[] {
    const base = join(this.root, bucket);
    // Walk only from the deepest folder the prefix names.
    const slash = prefix.lastIndexOf('/');
    const folder = slash >= 0 ? prefix.slice(0, slash) : '';
    const start = folder ? join(base, ...folder.split('/')) : base;
    const keys: string[] = [];
    const walk = (dir: string, keyPrefix: string) => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const entry of entries) {
        const key = keyPrefix + entry.name;
        if (entry.isDirectory()) walk(join(dir, entry.name), `${key}/`);
        else if (entry.isFile() && !entry.name.endsWith('.sealdb-partial') && key.startsWith(prefix)) keys.push(key);
      }
    };
    if (existsSync(start)) walk(start, folder ? `${folder}/` : '');
    return keys.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  }

  #file(bucket: string, key: string): string {
    checkKey(key);
    return join(this.root, bucket, ...key.split('/'));
  }
}

/** [I] A prefix or key that would leave the bucket's folder (or name none of its files). */
export function checkKey(key: string, member = 'key'): void {
  const segments = key.split('/');
  if (segments.some((s, i) => s === '.' || s === '..' || (s === '' && i < segments.length - 1) || s.includes(sep))) {
    throw validationError(
      `sealdb maps S3 keys to files: the ${member} '${key}' has an empty, '.' or '..' segment, which no file can stand for`,
    );
  }
}

/** The object key under an S3Prefix, joined as DynamoDB joins them (`prefix/AWSDynamoDB/...`). */
export function underPrefix(prefix: string | undefined, rest: string): string {
  if (!prefix) return rest;
  return prefix.endsWith('/') ? `${prefix}${rest}` : `${prefix}/${rest}`;
}
