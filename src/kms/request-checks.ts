/** Checks several operations share: grant tokens, DryRun, algorithm, tags. */
import { dryRun, invalidKeyUsage, tagException, unsupported, validation } from './errors.js';
import type { KmsEnvironment } from './operation.js';
import { SYMMETRIC_DEFAULT, type Tag } from './types.js';

/** Every token must be one this service issued; grants themselves take effect without them. */
export function checkGrantTokens(env: KmsEnvironment, tokens: readonly string[] | undefined): void {
  for (const token of tokens ?? []) env.grantTokens.verify(token);
}

/** Called after every other check: a dry run reports what the call would have done. */
export function finishDryRun(dryRunRequested: boolean | undefined): void {
  if (dryRunRequested === true) throw dryRun();
}

export function checkSymmetricAlgorithm(algorithm: string | undefined): void {
  if (algorithm !== undefined && algorithm !== SYMMETRIC_DEFAULT) {
    throw invalidKeyUsage(`Algorithm ${algorithm} is incompatible with key spec ${SYMMETRIC_DEFAULT}.`);
  }
}

export function checkTags(tags: readonly Tag[] | undefined): void {
  for (const tag of tags ?? []) {
    if (tag.TagKey.toLowerCase().startsWith('aws:')) throw tagException('Tags beginning with aws: are reserved');
  }
}

/** Later values win, as when TagResource overwrites a tag. */
export function mergeTags(existing: readonly Tag[], added: readonly Tag[]): Tag[] {
  const byKey = new Map(existing.map((t) => [t.TagKey, t.TagValue]));
  for (const t of added) byKey.set(t.TagKey, t.TagValue);
  return [...byKey].map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
}

/** GenerateDataKey*: exactly one of KeySpec and NumberOfBytes. */
export function dataKeyLength(keySpec: string | undefined, numberOfBytes: number | undefined): number {
  if ((keySpec === undefined) === (numberOfBytes === undefined)) {
    throw validation('Please specify either number of bytes or key spec.');
  }
  if (numberOfBytes !== undefined) return numberOfBytes;
  return keySpec === 'AES_128' ? 16 : 32;
}

export function refuseRecipient(recipient: unknown): void {
  if (recipient !== undefined) throw unsupported('Recipient (Nitro Enclaves attestation) is not supported.');
}
