import { accessKey } from '../access.js';
import { policyNotFound } from '../errors.js';
import { defineOperation } from '../operation.js';

interface GetKeyPolicyInput {
  KeyId: string;
  PolicyName?: string;
}

export const getKeyPolicyOperation = defineOperation<GetKeyPolicyInput, object>({
  name: 'GetKeyPolicy',
  readOnly: true,
  execute(request) {
    const name = request.input.PolicyName ?? 'default';
    const { key } = accessKey(request, request.input.KeyId, 'GetKeyPolicy');
    if (name !== 'default') throw policyNotFound();
    return { Policy: key.policy, PolicyName: name };
  },
});
