import { accessKey, authorizeResolved } from '../access.js';
import { parseCiphertext } from '../ciphertext.js';
import { notNull } from '../errors.js';
import { decryptWith } from '../key-crypto.js';
import { defineOperation } from '../operation.js';
import { checkGrantTokens, checkSymmetricAlgorithm, finishDryRun, refuseRecipient } from '../request-checks.js';
import { resolveCiphertextKey } from '../resolve.js';
import { type EncryptionContext, SYMMETRIC_DEFAULT } from '../types.js';

interface DecryptInput {
  CiphertextBlob?: Buffer;
  EncryptionContext?: EncryptionContext;
  GrantTokens?: string[];
  KeyId?: string;
  EncryptionAlgorithm?: string;
  Recipient?: unknown;
  DryRun?: boolean;
  DryRunModifiers?: string[];
}

const ALGORITHM = { 'kms:encryptionalgorithm': [SYMMETRIC_DEFAULT] };

/** The key comes from the blob; a KeyId, if given, must name that same key. */
export const decryptOperation = defineOperation<DecryptInput, object>({
  name: 'Decrypt',
  readOnly: true,
  execute(request) {
    const { input, env } = request;
    checkGrantTokens(env, input.GrantTokens);
    checkSymmetricAlgorithm(input.EncryptionAlgorithm);
    refuseRecipient(input.Recipient);
    const context = input.EncryptionContext ? { encryptionContext: input.EncryptionContext } : {};
    if (input.CiphertextBlob === undefined) {
      // A dry run may skip the ciphertext (IGNORE_CIPHERTEXT) and check only the permission on KeyId.
      if (input.DryRun === true && input.DryRunModifiers?.includes('IGNORE_CIPHERTEXT') && input.KeyId !== undefined) {
        accessKey(request, input.KeyId, 'Decrypt', {
          aliases: true,
          crossAccount: true,
          ...context,
          conditions: ALGORITHM,
        });
        finishDryRun(true);
      }
      throw notNull('ciphertextBlob');
    }
    const parsed = parseCiphertext(input.CiphertextBlob);
    const resolved = resolveCiphertextKey(request, parsed.keyId, input.KeyId);
    authorizeResolved(request, resolved, 'Decrypt', { ...context, conditions: ALGORITHM });
    finishDryRun(input.DryRun);
    const opened = decryptWith(env, resolved.key, parsed, input.EncryptionContext);
    return {
      KeyId: resolved.arn,
      Plaintext: opened.plaintext,
      EncryptionAlgorithm: SYMMETRIC_DEFAULT,
      KeyMaterialId: opened.materialId,
    };
  },
});
