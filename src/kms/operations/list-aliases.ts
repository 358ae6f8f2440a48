import { PREDEFINED_ALIASES } from '../aws-managed.js';
import { aliasArn } from '../key-ids.js';
import { defineOperation } from '../operation.js';
import { pageMembers, paginate } from '../pagination.js';
import { resolveKey } from '../resolve.js';
import { type AliasListEntry, toEpochSeconds } from '../types.js';

interface ListAliasesInput {
  KeyId?: string;
  Limit?: number;
  Marker?: string;
}

/**
 * The caller's own aliases, plus the predefined `alias/aws/*` ones: KMS lists those even before
 * their AWS managed key exists, then without a TargetKeyId.
 */
export const listAliasesOperation = defineOperation<ListAliasesInput, object>({
  name: 'ListAliases',
  readOnly: true,
  execute(request) {
    const { env, caller, input } = request;
    const accountId = caller.principal.accountId;
    const targetKeyId = input.KeyId !== undefined ? resolveKey(request, input.KeyId).key.keyId : undefined;
    const entries: AliasListEntry[] = env.store.listAliases(accountId, env.region).map((a) => ({
      AliasName: a.aliasName,
      AliasArn: aliasArn(env.region, accountId, a.aliasName),
      TargetKeyId: a.targetKeyId,
      CreationDate: toEpochSeconds(a.creationMs),
      LastUpdatedDate: toEpochSeconds(a.lastUpdatedMs),
    }));
    for (const name of PREDEFINED_ALIASES) {
      if (!entries.some((e) => e.AliasName === name)) {
        entries.push({ AliasName: name, AliasArn: aliasArn(env.region, accountId, name) });
      }
    }
    entries.sort((a, b) => (a.AliasName < b.AliasName ? -1 : a.AliasName > b.AliasName ? 1 : 0));
    const filtered = targetKeyId === undefined ? entries : entries.filter((e) => e.TargetKeyId === targetKeyId);
    const page = paginate(filtered, (e) => e.AliasName, { defaultLimit: 50, maxLimit: 100 }, input.Limit, input.Marker);
    return { Aliases: page.items, ...pageMembers(page) };
  },
});
