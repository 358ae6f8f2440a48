import { accessKey } from '../access.js';
import { defineOperation } from '../operation.js';

interface ListKeyPoliciesInput {
  KeyId: string;
  Limit?: number;
  Marker?: string;
}

/** Every key has exactly one policy, named `default`. */
export const listKeyPoliciesOperation = defineOperation<ListKeyPoliciesInput, object>({
  name: 'ListKeyPolicies',
  readOnly: true,
  execute(request) {
    accessKey(request, request.input.KeyId, 'ListKeyPolicies');
    return { PolicyNames: ['default'], Truncated: false };
  },
});
