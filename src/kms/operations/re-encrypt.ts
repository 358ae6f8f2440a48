import { accessKey, authorizeResolved } from '../access.js';
import { parseCiphertext } from '../ciphertext.js';
import { notNull } from '../errors.js';
import { decryptWith, encryptUnder } from '../key-crypto.js';
import { defineOperation } from '../operation.js';
import { checkGrantTokens, checkSymmetricAlgorithm, finishDryRun } from '../request-checks.js';
import { resolveCiphertextKey } from '../resolve.js';
import { type EncryptionContext, SYMMETRIC_DEFAULT } from '../types.js';

interface ReEncryptInput {
  CiphertextBlob?: Buffer;
  SourceEncryptionContext?: EncryptionContext;
  SourceKeyId?: string;
  DestinationKeyId: string;
  DestinationEncryptionContext?: EncryptionContext;
  SourceEncryptionAlgorithm?: string;
  DestinationEncryptionAlgorithm?: string;
  GrantTokens?: string[];
  DryRun?: boolean;
}

const ALGORITHM = { 'kms:encryptionalgorithm': [SYMMETRIC_DEFAULT] };

/** Decrypts under the source key (kms:ReEncryptFrom) and encrypts under the destination (kms:ReEncryptTo). */
export const reEncryptOperation = defineOperation<ReEncryptInput, object>({
  name: 'ReEncrypt',
  readOnly: true,
  execute(request) {
    const { input, env } = request;
    checkGrantTokens(env, input.GrantTokens);
    checkSymmetricAlgorithm(input.SourceEncryptionAlgorithm);
    checkSymmetricAlgorithm(input.DestinationEncryptionAlgorithm);
    if (input.CiphertextBlob === undefined) throw notNull('ciphertextBlob');
    const parsed = parseCiphertext(input.CiphertextBlob);
    const source = resolveCiphertextKey(request, parsed.keyId, input.SourceKeyId);
    authorizeResolved(request, source, 'ReEncryptFrom', {
      ...(input.SourceEncryptionContext ? { encryptionContext: input.SourceEncryptionContext } : {}),
      conditions: ALGORITHM,
    });
    const destination = accessKey(request, input.DestinationKeyId, 'ReEncryptTo', {
      aliases: true,
      crossAccount: true,
      ...(input.DestinationEncryptionContext ? { encryptionContext: input.DestinationEncryptionContext } : {}),
      conditions: ALGORITHM,
    });
    finishDryRun(input.DryRun);
    const opened = decryptWith(env, source.key, parsed, input.SourceEncryptionContext);
    try {
      const sealed = encryptUnder(env, destination.key, opened.plaintext, input.DestinationEncryptionContext);
      return {
        CiphertextBlob: sealed.ciphertext,
        SourceKeyId: source.arn,
        KeyId: destination.arn,
        SourceEncryptionAlgorithm: SYMMETRIC_DEFAULT,
        DestinationEncryptionAlgorithm: SYMMETRIC_DEFAULT,
        SourceKeyMaterialId: opened.materialId,
        DestinationKeyMaterialId: sealed.materialId,
      };
    } finally {
      opened.plaintext.fill(0);
    }
  },
});
