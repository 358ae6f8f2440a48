import { accessKey } from '../access.js';
import { cachedPolicy, policyAllows } from '../authorize.js';
import { accessDenied, policyLockout, policyNotFound } from '../errors.js';
import { defineOperation } from '../operation.js';

interface PutKeyPolicyInput {
  KeyId: string;
  PolicyName?: string;
  Policy: string;
  BypassPolicyLockoutSafetyCheck?: boolean;
}

export const putKeyPolicyOperation = defineOperation<PutKeyPolicyInput, object>({
  name: 'PutKeyPolicy',
  readOnly: false,
  execute(request) {
    const { input, caller, env } = request;
    const { key, arn } = accessKey(request, input.KeyId, 'PutKeyPolicy');
    // An AWS managed key's policy is fixed; its own policy already refuses this, this holds regardless.
    if (key.keyManager === 'AWS') throw accessDenied(caller.principal.arn, 'kms:PutKeyPolicy', arn, false);
    if ((input.PolicyName ?? 'default') !== 'default') throw policyNotFound();
    cachedPolicy(input.Policy);
    if (input.BypassPolicyLockoutSafetyCheck !== true && !policyAllows(input.Policy, caller, 'PutKeyPolicy', arn)) {
      throw policyLockout();
    }
    env.store.putKey({ ...key, policy: input.Policy });
    return {};
  },
});
