/** ListPublicKeys: the key that signs this installation's digests, as CloudTrail lists its own. */
import { invalidTimeRange } from '../errors.js';
import type { DigestSigner } from '../signing-key.js';

export interface ListPublicKeysInput {
  readonly StartTime?: number;
  readonly EndTime?: number;
}

export interface PublicKeyEntry {
  /** Base64 of the DER-encoded PKCS#1 RSA public key. */
  readonly Value: string;
  readonly ValidityStartTime: number;
  readonly ValidityEndTime: number;
  readonly Fingerprint: string;
}

export interface ListPublicKeysOutput {
  readonly PublicKeyList: PublicKeyEntry[];
}

export function listPublicKeys(
  signer: DigestSigner | undefined,
  input: ListPublicKeysInput,
  now: number,
): ListPublicKeysOutput {
  if (input.StartTime !== undefined && input.EndTime !== undefined && input.StartTime > input.EndTime) {
    throw invalidTimeRange('The start time must not be after the end time.');
  }
  if (!signer) return { PublicKeyList: [] };
  // The one key never expires; its validity is reported as "from creation until now".
  const start = Math.min(signer.createdAt, now) / 1000;
  const end = now / 1000;
  const from = input.StartTime ?? end;
  const to = input.EndTime ?? end;
  if (to < start || from > end) return { PublicKeyList: [] };
  return {
    PublicKeyList: [
      {
        Value: signer.publicKeyDer.toString('base64'),
        ValidityStartTime: start,
        ValidityEndTime: end,
        Fingerprint: signer.fingerprint,
      },
    ],
  };
}
