import { accessKey } from '../access.js';
import { keyMetadata } from '../key-metadata.js';
import { defineOperation } from '../operation.js';
import { checkGrantTokens } from '../request-checks.js';

interface DescribeKeyInput {
  KeyId: string;
  GrantTokens?: string[];
}

export const describeKeyOperation = defineOperation<DescribeKeyInput, { KeyMetadata: object }>({
  name: 'DescribeKey',
  readOnly: true,
  execute(request) {
    checkGrantTokens(request.env, request.input.GrantTokens);
    const { key } = accessKey(request, request.input.KeyId, 'DescribeKey', { aliases: true, crossAccount: true });
    return { KeyMetadata: keyMetadata(request.env, key) };
  },
});
