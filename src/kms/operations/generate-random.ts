import { randomBytes } from 'node:crypto';
import { unsupported, validation } from '../errors.js';
import { defineOperation } from '../operation.js';
import { refuseRecipient } from '../request-checks.js';

interface GenerateRandomInput {
  NumberOfBytes?: number;
  CustomKeyStoreId?: string;
  Recipient?: unknown;
}

export const generateRandomOperation = defineOperation<GenerateRandomInput, object>({
  name: 'GenerateRandom',
  readOnly: true,
  execute({ input }) {
    if (input.NumberOfBytes === undefined) throw validation('NumberOfBytes is required.');
    if (input.CustomKeyStoreId !== undefined) throw unsupported('Custom key stores are not supported.');
    refuseRecipient(input.Recipient);
    return { Plaintext: randomBytes(input.NumberOfBytes) };
  },
});
