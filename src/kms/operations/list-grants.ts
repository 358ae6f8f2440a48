import { accessKey } from '../access.js';
import { grantListEntry, grantSortKey } from '../grant-entries.js';
import { defineOperation } from '../operation.js';
import { pageMembers, paginate } from '../pagination.js';

interface ListGrantsInput {
  KeyId: string;
  GrantId?: string;
  GranteePrincipal?: string;
  GranteeServicePrincipal?: string;
  Limit?: number;
  Marker?: string;
}

export const listGrantsOperation = defineOperation<ListGrantsInput, object>({
  name: 'ListGrants',
  readOnly: true,
  execute(request) {
    const { input, env } = request;
    const { key } = accessKey(request, input.KeyId, 'ListGrants', { crossAccount: true });
    const grantee = input.GranteePrincipal ?? input.GranteeServicePrincipal;
    const entries = env.store
      .listGrants(key.keyId)
      .filter((g) => input.GrantId === undefined || g.grantId === input.GrantId)
      .filter((g) => grantee === undefined || g.granteePrincipal === grantee)
      .map((g) => grantListEntry(env.store, g));
    const page = paginate(entries, grantSortKey, { defaultLimit: 50, maxLimit: 100 }, input.Limit, input.Marker);
    return { Grants: page.items, ...pageMembers(page) };
  },
});
