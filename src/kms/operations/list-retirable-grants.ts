import { notNull } from '../errors.js';
import { grantListEntry, grantSortKey } from '../grant-entries.js';
import { defineOperation } from '../operation.js';
import { pageMembers, paginate } from '../pagination.js';

interface ListRetirableGrantsInput {
  RetiringPrincipal?: string;
  RetiringServicePrincipal?: string;
  Limit?: number;
  Marker?: string;
}

/** Grants on the caller's account's keys that name the principal as retiring principal. */
export const listRetirableGrantsOperation = defineOperation<ListRetirableGrantsInput, object>({
  name: 'ListRetirableGrants',
  readOnly: true,
  execute({ input, env, caller }) {
    const retiring = input.RetiringPrincipal ?? input.RetiringServicePrincipal;
    if (retiring === undefined) throw notNull('retiringPrincipal');
    const entries = env.store
      .listGrantsByRetiringPrincipal(retiring)
      .filter((g) => {
        const key = env.store.getKey(g.keyId);
        // Grants are listed by each region's KMS for its own keys.
        return key?.accountId === caller.principal.accountId && key.region === env.region;
      })
      .map((g) => grantListEntry(env.store, g));
    const page = paginate(entries, grantSortKey, { defaultLimit: 50, maxLimit: 100 }, input.Limit, input.Marker);
    return { Grants: page.items, ...pageMembers(page) };
  },
});
