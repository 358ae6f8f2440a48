/** Alias name rules shared by CreateAlias, UpdateAlias and DeleteAlias. */
import { aliasPrefixRequired, reservedAlias } from './errors.js';
import { ALIAS_PREFIX, RESERVED_ALIAS_PREFIX } from './key-ids.js';

/** `alias/aws/` names belong to AWS managed keys: nobody may create, repoint or delete them. */
export function checkUserAliasName(aliasName: string): void {
  if (!aliasName.startsWith(ALIAS_PREFIX)) throw aliasPrefixRequired();
  if (aliasName.startsWith(RESERVED_ALIAS_PREFIX)) throw reservedAlias();
}

export const namesAlias = (id: string): boolean =>
  id.startsWith(ALIAS_PREFIX) || /^arn:[^:]+:kms:[^:]*:\d*:alias\//.test(id);
