/** The four ways a KMS key is named (key id, key ARN, alias name, alias ARN) and the ARNs KMS answers with. */
import { invalidArnRegion, invalidKeyId } from './errors.js';

export type KeyReference =
  | { readonly kind: 'keyId'; readonly keyId: string }
  | { readonly kind: 'keyArn'; readonly accountId: string; readonly keyId: string; readonly arn: string }
  | { readonly kind: 'aliasName'; readonly aliasName: string }
  | { readonly kind: 'aliasArn'; readonly accountId: string; readonly aliasName: string; readonly arn: string };

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const KMS_ARN = /^arn:[a-z-]+:kms:([^:]*):(\d{12}):(key|alias)\/(.+)$/;

export const ALIAS_PREFIX = 'alias/';
export const RESERVED_ALIAS_PREFIX = 'alias/aws/';

export const keyArn = (region: string, accountId: string, keyId: string): string =>
  `arn:aws:kms:${region}:${accountId}:key/${keyId}`;

export const aliasArn = (region: string, accountId: string, aliasName: string): string =>
  `arn:aws:kms:${region}:${accountId}:${aliasName}`;

export const accountRootArn = (accountId: string): string => `arn:aws:iam::${accountId}:root`;

export const isUuid = (value: string): boolean => UUID.test(value);

/**
 * Parses any key identifier. An ARN of another region than the call's is a NotFoundException as
 * in AWS (`Invalid arn <region>`): each region's KMS holds only its own keys.
 */
export function parseKeyReference(value: string, region: string): KeyReference {
  if (value.startsWith('arn:')) {
    const m = KMS_ARN.exec(value);
    if (!m) throw invalidKeyId(value);
    const [, arnRegion, accountId, type, rest] = m as unknown as [string, string, string, string, string];
    if (arnRegion !== region) throw invalidArnRegion(arnRegion);
    if (type === 'alias') return { kind: 'aliasArn', accountId, aliasName: `${ALIAS_PREFIX}${rest}`, arn: value };
    if (!isUuid(rest)) throw invalidKeyId(rest);
    return { kind: 'keyArn', accountId, keyId: rest, arn: value };
  }
  if (value.startsWith(ALIAS_PREFIX)) return { kind: 'aliasName', aliasName: value };
  if (!isUuid(value)) throw invalidKeyId(value);
  return { kind: 'keyId', keyId: value };
}

/** UUID text to the 16 bytes the ciphertext header carries, and back. */
export function uuidToBytes(keyId: string): Buffer {
  return Buffer.from(keyId.replace(/-/g, ''), 'hex');
}

export function bytesToUuid(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
