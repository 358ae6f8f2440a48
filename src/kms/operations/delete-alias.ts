import { accessKey } from '../access.js';
import { checkUserAliasName } from '../alias-names.js';
import { aliasNotFound } from '../errors.js';
import { aliasArn, keyArn } from '../key-ids.js';
import { defineOperation } from '../operation.js';

interface DeleteAliasInput {
  AliasName: string;
}

export const deleteAliasOperation = defineOperation<DeleteAliasInput, object>({
  name: 'DeleteAlias',
  readOnly: false,
  execute(request) {
    const { env, caller, input } = request;
    checkUserAliasName(input.AliasName);
    const accountId = caller.principal.accountId;
    const alias = env.store.getAlias(accountId, env.region, input.AliasName);
    if (!alias) throw aliasNotFound(aliasArn(env.region, accountId, input.AliasName));
    accessKey(request, keyArn(env.region, accountId, alias.targetKeyId), 'DeleteAlias');
    env.store.deleteAlias(accountId, env.region, input.AliasName);
    return {};
  },
});
