/** Creating a key: its record and its first key material version, in one transaction. */
import { randomUUID } from 'node:crypto';
import type { KmsEnvironment } from './operation.js';
import type { KeyManager, KeyRecord, RotationSettings, Tag } from './types.js';

export interface NewKey {
  readonly accountId: string;
  readonly description: string;
  readonly policy: string;
  readonly tags: readonly Tag[];
  readonly keyManager: KeyManager;
  readonly rotation?: RotationSettings;
}

export function createKey(env: KmsEnvironment, spec: NewKey): KeyRecord {
  const now = env.clock.now();
  const key: KeyRecord = {
    keyId: env.store.fresh(randomUUID),
    accountId: spec.accountId,
    region: env.region,
    creationMs: now,
    description: spec.description,
    state: 'Enabled',
    keyManager: spec.keyManager,
    policy: spec.policy,
    tags: spec.tags,
    rotation: spec.rotation ?? { enabled: false },
    onDemandRotations: 0,
    currentVersion: 1,
  };
  env.store.transaction(() => {
    env.store.putKey(key);
    env.vault.create(key.keyId, 1, now);
  });
  return key;
}
