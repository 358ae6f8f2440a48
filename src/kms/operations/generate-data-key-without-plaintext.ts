import { randomBytes } from 'node:crypto';
import { accessKey } from '../access.js';
import { encryptUnder } from '../key-crypto.js';
import { defineOperation } from '../operation.js';
import { checkGrantTokens, dataKeyLength, finishDryRun } from '../request-checks.js';
import type { EncryptionContext } from '../types.js';

interface GenerateDataKeyWithoutPlaintextInput {
  KeyId: string;
  EncryptionContext?: EncryptionContext;
  KeySpec?: string;
  NumberOfBytes?: number;
  GrantTokens?: string[];
  DryRun?: boolean;
}

export const generateDataKeyWithoutPlaintextOperation = defineOperation<GenerateDataKeyWithoutPlaintextInput, object>({
  name: 'GenerateDataKeyWithoutPlaintext',
  readOnly: true,
  execute(request) {
    const { input, env } = request;
    const length = dataKeyLength(input.KeySpec, input.NumberOfBytes);
    checkGrantTokens(env, input.GrantTokens);
    const { key, arn } = accessKey(request, input.KeyId, 'GenerateDataKeyWithoutPlaintext', {
      aliases: true,
      crossAccount: true,
      ...(input.EncryptionContext ? { encryptionContext: input.EncryptionContext } : {}),
    });
    finishDryRun(input.DryRun);
    const plaintext = randomBytes(length);
    try {
      const sealed = encryptUnder(env, key, plaintext, input.EncryptionContext);
      return { CiphertextBlob: sealed.ciphertext, KeyId: arn, KeyMaterialId: sealed.materialId };
    } finally {
      plaintext.fill(0);
    }
  },
});
