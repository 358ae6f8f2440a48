import { accessKey } from '../access.js';
import { checkUserAliasName, namesAlias } from '../alias-names.js';
import { aliasExists, aliasMustReferToKey } from '../errors.js';
import { aliasArn } from '../key-ids.js';
import { defineOperation } from '../operation.js';

interface CreateAliasInput {
  AliasName: string;
  TargetKeyId: string;
}

export const createAliasOperation = defineOperation<CreateAliasInput, object>({
  name: 'CreateAlias',
  readOnly: false,
  execute(request) {
    const { env, caller, input } = request;
    checkUserAliasName(input.AliasName);
    const accountId = caller.principal.accountId;
    if (env.store.getAlias(accountId, env.region, input.AliasName)) {
      throw aliasExists(aliasArn(env.region, accountId, input.AliasName));
    }
    if (namesAlias(input.TargetKeyId)) throw aliasMustReferToKey();
    const { key } = accessKey(request, input.TargetKeyId, 'CreateAlias');
    const now = env.clock.now();
    env.store.putAlias({
      accountId,
      region: env.region,
      aliasName: input.AliasName,
      targetKeyId: key.keyId,
      creationMs: now,
      lastUpdatedMs: now,
    });
    return {};
  },
});
