import { accessKey } from '../access.js';
import { existingUserAlias, namesAlias } from '../alias-names.js';
import { authorize } from '../authorize.js';
import { aliasMustReferToKey } from '../errors.js';
import { keyArn } from '../key-ids.js';
import { defineOperation } from '../operation.js';
import { resolveKey } from '../resolve.js';

interface UpdateAliasInput {
  AliasName: string;
  TargetKeyId: string;
}

/** Both keys must allow kms:UpdateAlias; only the new one's state matters. */
export const updateAliasOperation = defineOperation<UpdateAliasInput, object>({
  name: 'UpdateAlias',
  readOnly: false,
  execute(request) {
    const { env, caller, input } = request;
    const accountId = caller.principal.accountId;
    const alias = existingUserAlias(env, accountId, input.AliasName);
    if (namesAlias(input.TargetKeyId)) throw aliasMustReferToKey();
    // The key the alias leaves may be in any state (even pending deletion), so only its policy is checked.
    const current = resolveKey(request, keyArn(env.region, accountId, alias.targetKeyId));
    authorize(env, caller, { action: 'UpdateAlias', key: current.key, keyArn: current.arn });
    const { key } = accessKey(request, input.TargetKeyId, 'UpdateAlias');
    env.store.putAlias({ ...alias, targetKeyId: key.keyId, lastUpdatedMs: env.clock.now() });
    return {};
  },
});
