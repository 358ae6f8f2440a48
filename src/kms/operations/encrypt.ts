import { accessKey } from '../access.js';
import { encryptUnder } from '../key-crypto.js';
import { defineOperation } from '../operation.js';
import { checkGrantTokens, checkSymmetricAlgorithm, finishDryRun } from '../request-checks.js';
import { type EncryptionContext, SYMMETRIC_DEFAULT } from '../types.js';

interface EncryptInput {
  KeyId: string;
  Plaintext: Buffer;
  EncryptionContext?: EncryptionContext;
  GrantTokens?: string[];
  EncryptionAlgorithm?: string;
  DryRun?: boolean;
}

export const encryptOperation = defineOperation<EncryptInput, object>({
  name: 'Encrypt',
  readOnly: true,
  execute(request) {
    const { input, env } = request;
    checkGrantTokens(env, input.GrantTokens);
    checkSymmetricAlgorithm(input.EncryptionAlgorithm);
    const { key, arn } = accessKey(request, input.KeyId, 'Encrypt', {
      aliases: true,
      crossAccount: true,
      ...(input.EncryptionContext ? { encryptionContext: input.EncryptionContext } : {}),
      conditions: { 'kms:encryptionalgorithm': [SYMMETRIC_DEFAULT] },
    });
    finishDryRun(input.DryRun);
    const sealed = encryptUnder(env, key, input.Plaintext, input.EncryptionContext);
    return { CiphertextBlob: sealed.ciphertext, KeyId: arn, EncryptionAlgorithm: SYMMETRIC_DEFAULT };
  },
});
