/**
 * The trail without a server: verifying a data directory (needs the root of trust, which unseals
 * the files), exporting it as plain CloudTrail files, and verifying such an export with nothing
 * but the public key, as CloudTrail log file validation works.
 */
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RootOfTrust } from '../encryption/root-of-trust.js';
import { SIGNATURE_ALGORITHM_HEADER, SIGNATURE_HEADER } from './digest-writer.js';
import { listFiles, writeFileDurably } from './durable-fs.js';
import { LOGS_FOLDER, parseDigestObjectKey, parseLogObjectKey } from './layout.js';
import { TrailCipher } from './sealed-file.js';
import { loadPublicKey, PUBLIC_KEY_FILE } from './signing-key.js';
import { type DigestFileRef, type LogFileRef, TrailFiles, type TrailListing } from './trail-files.js';
import { TRAIL_FOLDER } from './trail-store.js';
import { sealedTrail, type VerifiableTrail, type VerifyResult, verifyTrail } from './verify.js';

/** In an export, a digest's signature (S3 metadata in CloudTrail) sits beside it in this file. */
export const SIGNATURE_SUFFIX = '.signature';

export interface VerifyRange {
  readonly from?: number;
  readonly to?: number;
  readonly accountId?: string;
}

export class NoPublicKeyError extends Error {
  constructor(path: string) {
    super(`no public key at ${path}: the trail has no digests yet, or pass the public key explicitly`);
    this.name = 'NoPublicKeyError';
  }
}

async function publicKeyAt(path: string): Promise<KeyObject> {
  try {
    return loadPublicKey(await readFile(path, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new NoPublicKeyError(path);
    throw error;
  }
}

export function trailFolder(dataDir: string): string {
  return join(dataDir, TRAIL_FOLDER);
}

/**
 * Verifies a data directory's trail. The public key defaults to the one exported in the trail
 * folder; pass a copy kept elsewhere to detect a replaced key as well.
 */
export async function verifyDataDir(
  dataDir: string,
  root: RootOfTrust,
  range: VerifyRange & { publicKey?: KeyObject } = {},
): Promise<VerifyResult> {
  const cipher = new TrailCipher(root);
  try {
    const files = new TrailFiles(trailFolder(dataDir), cipher);
    const listing = await files.list();
    if (listing.digests.length === 0 && listing.logs.length === 0 && range.publicKey === undefined) {
      return { ok: true, problems: [], accounts: [] };
    }
    const publicKey = range.publicKey ?? (await publicKeyAt(join(files.root, PUBLIC_KEY_FILE)));
    return await verifyTrail(sealedTrail(files), { ...range, publicKey });
  } finally {
    cipher.destroy();
  }
}

/** Writes the trail as CloudTrail's plain files (`.json.gz`, signatures beside digests) under `outDir`. */
export async function exportTrail(dataDir: string, root: RootOfTrust, outDir: string): Promise<{ files: number }> {
  const cipher = new TrailCipher(root);
  try {
    const files = new TrailFiles(trailFolder(dataDir), cipher);
    const listing = await files.list();
    let count = 0;
    for (const { objectKey } of [...listing.logs, ...listing.digests]) {
      const { header, content } = await files.readClosed(objectKey);
      await writeFileDurably(join(outDir, ...objectKey.split('/')), content, 0o644);
      const signature = header[SIGNATURE_HEADER];
      if (signature !== undefined) {
        const meta = { signature, 'signature-algorithm': header[SIGNATURE_ALGORITHM_HEADER] };
        await writeFileDurably(
          join(outDir, ...`${objectKey}${SIGNATURE_SUFFIX}`.split('/')),
          Buffer.from(`${JSON.stringify(meta)}\n`),
          0o644,
        );
      }
      count++;
    }
    const pem = await readFile(join(files.root, PUBLIC_KEY_FILE)).catch(() => undefined);
    if (pem) await writeFileDurably(join(outDir, PUBLIC_KEY_FILE), pem, 0o644);
    return { files: count };
  } finally {
    cipher.destroy();
  }
}

/** An exported (plain) trail folder as verification reads it. */
export function plainTrail(dir: string): VerifiableTrail {
  return {
    root: dir,
    fileOf: (objectKey) => objectKey,
    async list(): Promise<TrailListing> {
      const logs: LogFileRef[] = [];
      const digests: DigestFileRef[] = [];
      const strangers: string[] = [];
      for (const file of await listFiles(dir, LOGS_FOLDER)) {
        const logKey = parseLogObjectKey(file);
        const digestKey = logKey ? undefined : parseDigestObjectKey(file);
        if (logKey) logs.push({ objectKey: file, key: logKey });
        else if (digestKey) digests.push({ objectKey: file, key: digestKey });
        else if (!(file.endsWith(SIGNATURE_SUFFIX) && parseDigestObjectKey(file.slice(0, -SIGNATURE_SUFFIX.length)))) {
          strangers.push(file);
        }
      }
      return { logs, digests, strangers };
    },
    async readClosed(objectKey) {
      const content = await readFile(join(dir, ...objectKey.split('/')));
      const meta = await readFile(join(dir, ...`${objectKey}${SIGNATURE_SUFFIX}`.split('/')), 'utf8').then(
        (text) => JSON.parse(text) as Record<string, string>,
        () => ({}),
      );
      return { header: meta, content };
    },
  };
}

/** Verifies an exported trail with the public key alone (default: the `public-key.pem` in it). */
export async function verifyExport(
  dir: string,
  range: VerifyRange & { publicKey?: KeyObject } = {},
): Promise<VerifyResult> {
  const publicKey = range.publicKey ?? (await publicKeyAt(join(dir, PUBLIC_KEY_FILE)));
  return verifyTrail(plainTrail(dir), { ...range, publicKey });
}
