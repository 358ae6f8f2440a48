/**
 * CloudTrail digest files: the document, its canonical bytes and the string that is signed.
 * Pure functions, shared by the writer and by offline verification so both agree byte for byte.
 *
 * Signing string (CloudTrail's):
 *   digestEndTime \n digestS3Bucket/digestS3Object \n hex(SHA-256(uncompressed digest)) \n previousDigestSignature
 * where the first digest of a chain has the literal `null` as previous signature.
 */
import { createHash, type KeyObject, verify } from 'node:crypto';
import { SIGNATURE_ALGORITHM } from './signing-key.js';

export const HASH_ALGORITHM = 'SHA-256';

export interface DigestLogFile {
  readonly s3Bucket: string;
  readonly s3Object: string;
  /** Hex SHA-256 of the uncompressed log file. */
  readonly hashValue: string;
  readonly hashAlgorithm: typeof HASH_ALGORITHM;
  readonly newestEventTime: string;
  readonly oldestEventTime: string;
}

export interface DigestDocument {
  readonly awsAccountId: string;
  readonly digestStartTime: string;
  readonly digestEndTime: string;
  readonly digestS3Bucket: string;
  readonly digestS3Object: string;
  readonly digestPublicKeyFingerprint: string;
  readonly digestSignatureAlgorithm: typeof SIGNATURE_ALGORITHM;
  readonly newestEventTime: string | null;
  readonly oldestEventTime: string | null;
  readonly previousDigestS3Bucket: string | null;
  readonly previousDigestS3Object: string | null;
  readonly previousDigestHashValue: string | null;
  readonly previousDigestHashAlgorithm: typeof HASH_ALGORITHM | null;
  readonly previousDigestSignature: string | null;
  readonly logFiles: readonly DigestLogFile[];
}

/** What a digest records of the one before it. */
export interface ChainLink {
  readonly s3Bucket: string;
  readonly s3Object: string;
  /** Hex SHA-256 of the previous digest's uncompressed bytes. */
  readonly hashValue: string;
  readonly signature: string;
}

export interface DigestInput {
  readonly accountId: string;
  readonly start: string;
  readonly end: string;
  readonly bucket: string;
  readonly objectKey: string;
  readonly fingerprint: string;
  readonly logFiles: readonly DigestLogFile[];
  readonly previous: ChainLink | undefined;
}

export const sha256Hex = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex');

export function buildDigest(input: DigestInput): DigestDocument {
  const newest = input.logFiles.map((f) => f.newestEventTime).sort();
  const oldest = input.logFiles.map((f) => f.oldestEventTime).sort();
  return {
    awsAccountId: input.accountId,
    digestStartTime: input.start,
    digestEndTime: input.end,
    digestS3Bucket: input.bucket,
    digestS3Object: input.objectKey,
    digestPublicKeyFingerprint: input.fingerprint,
    digestSignatureAlgorithm: SIGNATURE_ALGORITHM,
    newestEventTime: newest.at(-1) ?? null,
    oldestEventTime: oldest[0] ?? null,
    previousDigestS3Bucket: input.previous?.s3Bucket ?? null,
    previousDigestS3Object: input.previous?.s3Object ?? null,
    previousDigestHashValue: input.previous?.hashValue ?? null,
    previousDigestHashAlgorithm: input.previous ? HASH_ALGORITHM : null,
    previousDigestSignature: input.previous?.signature ?? null,
    logFiles: input.logFiles,
  };
}

export function serializeDigest(doc: DigestDocument): Buffer {
  return Buffer.from(JSON.stringify(doc), 'utf8');
}

export function signingString(doc: DigestDocument, digestHashHex: string): string {
  return [
    doc.digestEndTime,
    `${doc.digestS3Bucket}/${doc.digestS3Object}`,
    digestHashHex,
    doc.previousDigestSignature ?? 'null',
  ].join('\n');
}

export function verifyDigestSignature(
  publicKey: KeyObject,
  doc: DigestDocument,
  digestHashHex: string,
  signatureHex: string,
): boolean {
  if (!/^[0-9a-f]+$/i.test(signatureHex)) return false;
  return verify(
    'sha256',
    Buffer.from(signingString(doc, digestHashHex), 'utf8'),
    publicKey,
    Buffer.from(signatureHex, 'hex'),
  );
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isNullableString = (v: unknown): v is string | null => v === null || typeof v === 'string';

/** Checks the shape of a parsed digest; undefined when it is not one. */
export function asDigestDocument(value: unknown): DigestDocument | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const d = value as Record<string, unknown>;
  const strings = ['awsAccountId', 'digestStartTime', 'digestEndTime', 'digestS3Bucket', 'digestS3Object'];
  const nullable = [
    'previousDigestS3Bucket',
    'previousDigestS3Object',
    'previousDigestHashValue',
    'previousDigestSignature',
  ];
  if (!strings.every((k) => isString(d[k])) || !nullable.every((k) => isNullableString(d[k]))) return undefined;
  if (!isString(d.digestPublicKeyFingerprint) || !Array.isArray(d.logFiles)) return undefined;
  for (const f of d.logFiles as unknown[]) {
    if (typeof f !== 'object' || f === null) return undefined;
    const file = f as Record<string, unknown>;
    if (!isString(file.s3Bucket) || !isString(file.s3Object) || !isString(file.hashValue)) return undefined;
  }
  return value as DigestDocument;
}
