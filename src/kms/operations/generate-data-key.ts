import { randomBytes } from 'node:crypto';
import { accessKey } from '../access.js';
import { encryptUnder } from '../key-crypto.js';
import { defineOperation } from '../operation.js';
import { checkGrantTokens, dataKeyLength, finishDryRun, refuseRecipient } from '../request-checks.js';
import type { EncryptionContext } from '../types.js';

interface GenerateDataKeyInput {
  KeyId: string;
  EncryptionContext?: EncryptionContext;
  NumberOfBytes?: number;
  KeySpec?: string;
  GrantTokens?: string[];
  Recipient?: unknown;
  DryRun?: boolean;
}

export const generateDataKeyOperation = defineOperation<GenerateDataKeyInput, object>({
  name: 'GenerateDataKey',
  readOnly: true,
  execute(request) {
    const { input, env } = request;
    const length = dataKeyLength(input.KeySpec, input.NumberOfBytes);
    checkGrantTokens(env, input.GrantTokens);
    refuseRecipient(input.Recipient);
    const { key, arn } = accessKey(request, input.KeyId, 'GenerateDataKey', {
      aliases: true,
      crossAccount: true,
      ...(input.EncryptionContext ? { encryptionContext: input.EncryptionContext } : {}),
    });
    finishDryRun(input.DryRun);
    const plaintext = randomBytes(length);
    const sealed = encryptUnder(env, key, plaintext, input.EncryptionContext);
    return { CiphertextBlob: sealed.ciphertext, Plaintext: plaintext, KeyId: arn, KeyMaterialId: sealed.materialId };
  },
});
