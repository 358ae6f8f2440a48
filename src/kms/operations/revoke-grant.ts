import { accessKey } from '../access.js';
import { invalidGrantId } from '../errors.js';
import { defineOperation } from '../operation.js';
import { finishDryRun } from '../request-checks.js';

interface RevokeGrantInput {
  KeyId: string;
  GrantId: string;
  DryRun?: boolean;
}

/** Revoking needs kms:RevokeGrant in the key policy; a grant cannot allow it. */
export const revokeGrantOperation = defineOperation<RevokeGrantInput, object>({
  name: 'RevokeGrant',
  readOnly: false,
  execute(request) {
    const { input, env } = request;
    const { key } = accessKey(request, input.KeyId, 'RevokeGrant', { crossAccount: true, grantsApply: false });
    const grant = env.store.getGrant(input.GrantId);
    if (!grant || grant.keyId !== key.keyId) throw invalidGrantId();
    finishDryRun(input.DryRun);
    env.store.deleteGrant(grant.grantId);
    return {};
  },
});
