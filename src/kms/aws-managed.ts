/**
 * AWS managed keys (`alias/aws/<service>`): created per account on first use, KeyManager AWS, a
 * fixed policy nobody can change, rotated yearly. Only DynamoDB's exists in sealdb.
 */
import { createKey } from './key-factory.js';
import type { KmsEnvironment } from './operation.js';
import { awsManagedDynamoDbPolicy } from './policy-templates.js';
import { DAY_MS, type KeyRecord } from './types.js';

export type AwsManagedService = 'dynamodb';

interface ManagedKeySpec {
  readonly aliasName: string;
  readonly description: string;
  readonly policy: (accountId: string, region: string) => string;
}

const MANAGED_KEYS: Readonly<Record<AwsManagedService, ManagedKeySpec>> = {
  dynamodb: {
    aliasName: 'alias/aws/dynamodb',
    description: 'Default key that protects my DynamoDB data when no other key is defined',
    policy: awsManagedDynamoDbPolicy,
  },
};

/** AWS managed keys have rotated every year since May 2022. */
const MANAGED_ROTATION_DAYS = 365;

export const PREDEFINED_ALIASES: readonly string[] = Object.values(MANAGED_KEYS).map((m) => m.aliasName);

export const isPredefinedAlias = (aliasName: string): boolean => PREDEFINED_ALIASES.includes(aliasName);

/** Returns the account's AWS managed key for a service, creating it (and its alias) on first use. */
export function ensureAwsManagedKey(
  env: KmsEnvironment,
  accountId: string,
  serviceOrAlias: AwsManagedService | string,
): KeyRecord {
  const spec =
    MANAGED_KEYS[serviceOrAlias as AwsManagedService] ??
    Object.values(MANAGED_KEYS).find((m) => m.aliasName === serviceOrAlias);
  if (!spec) throw new Error(`no AWS managed key for ${serviceOrAlias}`);
  return env.store.transaction(() => {
    const existing = env.store.getAlias(accountId, env.region, spec.aliasName);
    const existingKey = existing && env.store.getKey(existing.targetKeyId);
    if (existingKey) return existingKey;
    const now = env.clock.now();
    const key = createKey(env, {
      accountId,
      description: spec.description,
      policy: spec.policy(accountId, env.region),
      tags: [],
      keyManager: 'AWS',
      rotation: {
        enabled: true,
        periodDays: MANAGED_ROTATION_DAYS,
        nextRotationMs: now + MANAGED_ROTATION_DAYS * DAY_MS,
      },
    });
    env.store.putAlias({
      accountId,
      region: env.region,
      aliasName: spec.aliasName,
      targetKeyId: key.keyId,
      creationMs: now,
      lastUpdatedMs: now,
    });
    return key;
  });
}
