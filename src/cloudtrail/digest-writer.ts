/**
 * Writes an account's hourly digests and remembers the chain: each digest names the previous
 * one, its SHA-256 and its signature. The signature is kept in the sealed file's authenticated
 * header, where CloudTrail keeps it in the S3 object's metadata.
 */
import { gzipSync } from 'node:zlib';
import {
  buildDigest,
  type ChainLink,
  type DigestLogFile,
  HASH_ALGORITHM,
  serializeDigest,
  sha256Hex,
  signingString,
} from './digest.js';
import { digestObjectKey, HOUR_MS, isoSeconds, TRAIL_BUCKET } from './layout.js';
import type { CloudTrailRecord } from './record.js';
import { type DigestSigner, SIGNATURE_ALGORITHM } from './signing-key.js';
import { type DigestFileRef, gunzip, type TrailFiles, TrailFormatError } from './trail-files.js';

/** Header keys of a sealed digest, named after CloudTrail's S3 metadata. */
export const SIGNATURE_HEADER = 'signature';
export const SIGNATURE_ALGORITHM_HEADER = 'signature-algorithm';

export interface ChainState {
  /** Start of the first hour without a digest. */
  readonly nextStart: number;
  readonly previous: ChainLink | undefined;
}

/** The digest entry of a log file, from its uncompressed content. */
export function logFileEntry(objectKey: string, content: Buffer, records: readonly CloudTrailRecord[]): DigestLogFile {
  const times = records.map((r) => r.eventTime).sort();
  return {
    s3Bucket: TRAIL_BUCKET,
    s3Object: objectKey,
    hashValue: sha256Hex(content),
    hashAlgorithm: HASH_ALGORITHM,
    newestEventTime: times.at(-1) ?? '',
    oldestEventTime: times[0] ?? '',
  };
}

/** Where an account's chain stands, from its newest digest on disk. */
export async function chainState(files: TrailFiles, newest: DigestFileRef): Promise<ChainState> {
  const { header, content } = await files.readClosed(newest.objectKey);
  const signature = header[SIGNATURE_HEADER];
  if (signature === undefined) throw new TrailFormatError('the digest has no signature');
  return {
    nextStart: newest.key.end,
    previous: {
      s3Bucket: TRAIL_BUCKET,
      s3Object: newest.objectKey,
      hashValue: sha256Hex(gunzip(content)),
      signature,
    },
  };
}

export interface DigestRequest {
  readonly accountId: string;
  readonly region: string;
  readonly start: number;
  readonly logFiles: readonly DigestLogFile[];
  readonly chain: ChainState;
}

/** Signs and durably writes the digest of one hour; returns the chain after it. */
export async function writeDigest(
  files: TrailFiles,
  signer: DigestSigner,
  request: DigestRequest,
): Promise<ChainState> {
  const end = request.start + HOUR_MS;
  const objectKey = digestObjectKey({ accountId: request.accountId, region: request.region, end });
  const doc = buildDigest({
    accountId: request.accountId,
    start: isoSeconds(request.start),
    end: isoSeconds(end),
    bucket: TRAIL_BUCKET,
    objectKey,
    fingerprint: signer.fingerprint,
    logFiles: request.logFiles,
    previous: request.chain.previous,
  });
  const bytes = serializeDigest(doc);
  const hashValue = sha256Hex(bytes);
  const signature = signer.sign(signingString(doc, hashValue));
  await files.writeClosed(objectKey, gzipSync(bytes), {
    [SIGNATURE_HEADER]: signature,
    [SIGNATURE_ALGORITHM_HEADER]: SIGNATURE_ALGORITHM,
  });
  return { nextStart: end, previous: { s3Bucket: TRAIL_BUCKET, s3Object: objectKey, hashValue, signature } };
}
