import { accessKey } from '../access.js';
import { existingUserAlias } from '../alias-names.js';
import { keyArn } from '../key-ids.js';
import { defineOperation } from '../operation.js';

interface DeleteAliasInput {
  AliasName: string;
}

export const deleteAliasOperation = defineOperation<DeleteAliasInput, object>({
  name: 'DeleteAlias',
  readOnly: false,
  execute(request) {
    const { env, caller, input } = request;
    const accountId = caller.principal.accountId;
    const alias = existingUserAlias(env, accountId, input.AliasName);
    accessKey(request, keyArn(env.region, accountId, alias.targetKeyId), 'DeleteAlias');
    env.store.deleteAlias(accountId, env.region, input.AliasName);
    return {};
  },
});
