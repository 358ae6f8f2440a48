/** Alias name rules shared by CreateAlias, UpdateAlias and DeleteAlias. */
import { aliasNotFound, aliasPrefixRequired, reservedAlias } from './errors.js';
import { ALIAS_PREFIX, aliasArn, RESERVED_ALIAS_PREFIX } from './key-ids.js';
import type { KmsEnvironment } from './operation.js';
import type { AliasRecord } from './types.js';

/** `alias/aws/` names belong to AWS managed keys: nobody may create, repoint or delete them. */
export function checkUserAliasName(aliasName: string): void {
  if (!aliasName.startsWith(ALIAS_PREFIX)) throw aliasPrefixRequired();
  if (aliasName.startsWith(RESERVED_ALIAS_PREFIX)) throw reservedAlias();
}

export const namesAlias = (id: string): boolean =>
  id.startsWith(ALIAS_PREFIX) || /^arn:[^:]+:kms:[^:]*:\d*:alias\//.test(id);

/** The caller's user alias that UpdateAlias or DeleteAlias names; NotFoundException when there is none. */
export function existingUserAlias(env: KmsEnvironment, accountId: string, aliasName: string): AliasRecord {
  checkUserAliasName(aliasName);
  const alias = env.store.getAlias(accountId, env.region, aliasName);
  if (!alias) throw aliasNotFound(aliasArn(env.region, accountId, aliasName));
  return alias;
}
