/** GrantListEntry for ListGrants and ListRetirableGrants. */
import { keyArn } from './key-ids.js';
import type { KeyStore } from './key-store.js';
import { type GrantListEntry, type GrantRecord, toEpochSeconds } from './types.js';

export function grantListEntry(store: KeyStore, grant: GrantRecord): GrantListEntry {
  const key = store.getKey(grant.keyId);
  return {
    KeyId: key ? keyArn(key.region, key.accountId, key.keyId) : grant.keyId,
    GrantId: grant.grantId,
    ...(grant.name !== undefined ? { Name: grant.name } : {}),
    CreationDate: toEpochSeconds(grant.creationMs),
    GranteePrincipal: grant.granteePrincipal,
    ...(grant.retiringPrincipal !== undefined ? { RetiringPrincipal: grant.retiringPrincipal } : {}),
    IssuingAccount: grant.issuingAccount,
    Operations: [...grant.operations],
    ...(grant.constraints !== undefined ? { Constraints: grant.constraints } : {}),
  };
}

/** Grants list in creation order; the sort key keeps that order across pages. */
export const grantSortKey = (grant: GrantListEntry): string =>
  `${String(Math.round(grant.CreationDate * 1000)).padStart(16, '0')}/${grant.GrantId}`;
