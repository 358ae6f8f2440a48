/**
 * Time-driven key changes, applied lazily at the start of every call (and at startup) so that the
 * injected clock alone decides them: deletion when the waiting period ends (crypto-shredding: the
 * material is gone for good) and automatic rotation when it is due.
 */
import type { KmsEnvironment } from './operation.js';
import { DAY_MS, type KeyRecord, type RotationType } from './types.js';

export function sweep(env: KmsEnvironment): void {
  const now = env.clock.now();
  for (const key of env.store.keysDueForDeletion(now)) destroyKey(env, key.keyId, now);
  for (const key of env.store.keysDueForRotation(now)) rotateIfDue(env, key, now);
}

export function destroyKey(env: KmsEnvironment, keyId: string, nowMs: number): void {
  env.vault.forget(keyId);
  env.store.destroyKey(keyId, nowMs);
}

/** Adds a key material version and makes it the one new ciphertexts use; old versions stay for Decrypt. */
export function addMaterialVersion(env: KmsEnvironment, key: KeyRecord, type: RotationType, atMs: number): KeyRecord {
  const version = key.currentVersion + 1;
  const updated: KeyRecord = {
    ...key,
    currentVersion: version,
    onDemandRotations: key.onDemandRotations + (type === 'ON_DEMAND' ? 1 : 0),
  };
  env.store.transaction(() => {
    env.vault.create(key.keyId, version, atMs, type);
    env.store.putKey(updated);
  });
  return updated;
}

/** A disabled or pending-deletion key is not rotated; it rotates once it is enabled again. */
function rotateIfDue(env: KmsEnvironment, key: KeyRecord, now: number): void {
  const { rotation } = key;
  if (key.state !== 'Enabled' || !rotation.enabled || rotation.nextRotationMs === undefined) return;
  const period = (rotation.periodDays ?? 365) * DAY_MS;
  let next = rotation.nextRotationMs + period;
  while (next <= now) next += period;
  env.store.transaction(() => {
    const rotated = addMaterialVersion(env, key, 'AUTOMATIC', rotation.nextRotationMs as number);
    env.store.putKey({ ...rotated, rotation: { ...rotation, nextRotationMs: next } });
  });
}
