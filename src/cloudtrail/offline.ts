/**
 * The trail without a server: verifying a data directory (needs the root of trust, which unseals
 * the files), exporting it as plain CloudTrail files, and verifying such an export with nothing
 * but the public key, as CloudTrail log file validation works.
 */
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { RootOfTrust } from '../encryption/root-of-trust.js';
import { SIGNATURE_ALGORITHM_HEADER, SIGNATURE_HEADER } from './digest-writer.js';
import { listFiles, writeFileDurably } from './durable-fs.js';
import { describeDamage, type FrameScanResult } from './frames.js';
import {
  chunkSuffix,
  isoSeconds,
  LOGS_FOLDER,
  logObjectKey,
  parseDigestObjectKey,
  parseLogObjectKey,
} from './layout.js';
import { LogChunker } from './log-chunks.js';
import { TrailCipher } from './sealed-file.js';
import {
  DigestSigner,
  PRIVATE_KEY_FILE,
  PUBLIC_KEY_FILE,
  PublicKeyFileError,
  publicKeyFingerprint,
  readPublicKeyFile,
  SigningKeyError,
} from './signing-key.js';
import { type DigestFileRef, type LogFileRef, TrailFiles, type TrailListing } from './trail-files.js';
import { TRAIL_FOLDER } from './trail-store.js';
import {
  openFileProblems,
  sealedTrail,
  type VerifiableTrail,
  type VerifyProblem,
  type VerifyResult,
  verifyTrail,
} from './verify.js';

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

/** How to get a good public key file back, in a data directory's trail and in an export. */
const PEM_REMEDY_DATA_DIR =
  'Start sealdb once on this data directory (it rewrites the file from the signing key), restore it from a backup, ' +
  'or pass a trusted copy with --public-key.';
const PEM_REMEDY_EXPORT =
  'Copy it again from the data directory (sealdb audit export writes it), or pass a trusted copy with --public-key.';

async function publicKeyAt(path: string, remedy: string): Promise<KeyObject> {
  try {
    return await readPublicKeyFile(path, remedy);
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
    const keys = await trailKeys(files.root, root);
    const listing = await files.list();
    if (listing.digests.length === 0 && listing.logs.length === 0 && range.publicKey === undefined) {
      // Nothing is digested yet, but the first hour's records are on disk all the same.
      const problems = [
        ...keys.problems,
        ...listing.strangers.map((file) => ({
          kind: 'inserted' as const,
          file,
          detail: 'not a file sealdb writes into the trail',
        })),
        ...(await openFileProblems(sealedTrail(files), range)),
      ];
      return { ok: problems.length === 0, problems, accounts: [] };
    }
    const publicKey = range.publicKey ?? keys.publicKey;
    if (publicKey === undefined) {
      if (keys.problems.length === 0) throw new NoPublicKeyError(join(files.root, PUBLIC_KEY_FILE));
      // Neither key file is usable: the digests cannot be checked at all.
      return { ok: false, problems: keys.problems, accounts: [] };
    }
    const result = await verifyTrail(sealedTrail(files), { ...range, publicKey });
    const problems = [...keys.problems, ...result.problems];
    return { ...result, ok: problems.length === 0, problems };
  } finally {
    cipher.destroy();
  }
}

/**
 * The trail's two key files, checked: the sealed signing key and the public key exported beside
 * it. Digests are checked against the public key file, or against the signing key's public key
 * when that file is missing, damaged or holds another key (each is a problem).
 */
async function trailKeys(
  trailDir: string,
  root: RootOfTrust,
): Promise<{ publicKey: KeyObject | undefined; problems: VerifyProblem[] }> {
  const problems: VerifyProblem[] = [];
  let signer: DigestSigner | undefined;
  try {
    signer = await DigestSigner.open(trailDir, root);
  } catch (error) {
    if (!(error instanceof SigningKeyError)) throw error;
    problems.push({ kind: 'modified', file: PRIVATE_KEY_FILE, detail: error.message });
  }
  let exported: KeyObject | undefined;
  try {
    exported = await readPublicKeyFile(join(trailDir, PUBLIC_KEY_FILE), PEM_REMEDY_DATA_DIR);
  } catch (error) {
    if (error instanceof PublicKeyFileError) {
      problems.push({ kind: 'modified', file: PUBLIC_KEY_FILE, detail: error.message });
    } else if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      if (signer) {
        problems.push({
          kind: 'missing',
          file: PUBLIC_KEY_FILE,
          detail: `the trail's public key file is missing. ${PEM_REMEDY_DATA_DIR}`,
        });
      }
    } else throw error;
  }
  if (exported && signer && publicKeyFingerprint(exported) !== signer.fingerprint) {
    problems.push({
      kind: 'modified',
      file: PUBLIC_KEY_FILE,
      detail:
        "the trail's public key file does not hold the signing key's public key (replaced or damaged); " +
        `digests are checked against the signing key. ${PEM_REMEDY_DATA_DIR}`,
    });
    return { publicKey: signer.publicKey, problems };
  }
  return { publicKey: exported ?? signer?.publicKey, problems };
}

/** Folder of an export holding the open hours: CloudTrail log files that no digest lists yet. */
export const NOT_DIGESTED_FOLDER = 'not-yet-digested';

/**
 * Writes the trail as CloudTrail's plain files (`.json.gz`, signatures beside digests) under
 * `outDir`, and the open hours up to now under `not-yet-digested/` (same layout, with a
 * manifest saying that no digest vouches for them yet), outside the tree verification checks.
 */
export async function exportTrail(
  dataDir: string,
  root: RootOfTrust,
  outDir: string,
): Promise<{ files: number; notDigested: number }> {
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
    // From the sealed signing key when it is usable: a damaged public-key.pem is not passed on.
    const signer = await DigestSigner.open(files.root, root).catch(() => undefined);
    const pem = signer
      ? Buffer.from(signer.publicKeyPem)
      : await readFile(join(files.root, PUBLIC_KEY_FILE)).catch(() => undefined);
    if (pem) await writeFileDurably(join(outDir, PUBLIC_KEY_FILE), pem, 0o644);
    const notDigested = await exportOpenHours(files, join(outDir, NOT_DIGESTED_FOLDER));
    return { files: count, notDigested };
  } finally {
    cipher.destroy();
  }
}

async function exportOpenHours(files: TrailFiles, outDir: string): Promise<number> {
  const entries: Record<string, unknown>[] = [];
  for (const ref of await files.openHours()) {
    const written: string[] = [];
    const chunker = new LogChunker(async (chunk) => {
      const objectKey = logObjectKey({ ...ref, unique: chunkSuffix(chunk.first) });
      await writeFileDurably(join(outDir, ...objectKey.split('/')), gzipSync(chunk.content), 0o644);
      written.push(objectKey);
    });
    let scan: FrameScanResult;
    try {
      scan = await files.readOpenHour(ref.path, ref.path, (frame) => chunker.add(frame.content));
      await chunker.finish();
    } catch (error) {
      // Closed meanwhile by a running server: its log files are in the digested tree next time.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    entries.push({
      accountId: ref.accountId,
      region: ref.region,
      hourStart: isoSeconds(ref.hour),
      records: scan.frames,
      logFiles: written,
      ...(scan.damage.length > 0 ? { damaged: describeDamage(scan.damage) } : {}),
    });
  }
  if (entries.length === 0) return 0;
  const manifest = {
    note:
      'Hours still open when this export was made: their records up to then, in CloudTrail log files ' +
      'that no digest lists yet (a digest is written when the hour closes), so they cannot be verified.',
    hours: entries,
  };
  await writeFileDurably(join(outDir, 'manifest.json'), Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), 0o644);
  return entries.reduce((n, e) => n + (e.logFiles as string[]).length, 0);
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
  const publicKey = range.publicKey ?? (await publicKeyAt(join(dir, PUBLIC_KEY_FILE), PEM_REMEDY_EXPORT));
  return verifyTrail(plainTrail(dir), { ...range, publicKey });
}
