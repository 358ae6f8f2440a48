/**
 * Where a resource lives, as in AWS: tables, KMS keys, aliases and trails belong to one account
 * in one region, and the same name in another account or region is another resource.
 */
export interface Scope {
  /** The 12-digit account id. */
  readonly accountId: string;
  /** e.g. `us-east-1`: the region of the caller's SigV4 credential scope. */
  readonly region: string;
}

/** One string per scope, for map keys (neither part can contain NUL). */
export const scopeKey = (scope: Scope): string => `${scope.accountId}\u0000${scope.region}`;
