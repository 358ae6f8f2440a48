import { accessKey } from '../access.js';
import { defineOperation } from '../operation.js';
import { DAY_MS } from '../types.js';

interface EnableKeyRotationInput {
  KeyId: string;
  RotationPeriodInDays?: number;
}

const DEFAULT_PERIOD_DAYS = 365;

/**
 * The first rotation is one period after enabling; changing the period of an enabled key counts
 * from its latest material instead, as KMS does.
 */
export const enableKeyRotationOperation = defineOperation<EnableKeyRotationInput, object>({
  name: 'EnableKeyRotation',
  readOnly: false,
  execute(request) {
    const { input, env } = request;
    const { key } = accessKey(request, input.KeyId, 'EnableKeyRotation');
    const periodDays = input.RotationPeriodInDays ?? DEFAULT_PERIOD_DAYS;
    const now = env.clock.now();
    const latest = env.store.getMaterial(key.keyId, key.currentVersion)?.createdMs ?? now;
    const base = key.rotation.enabled ? latest : now;
    const nextRotationMs = Math.max(base + periodDays * DAY_MS, now);
    env.store.putKey({ ...key, rotation: { enabled: true, periodDays, nextRotationMs } });
    return {};
  },
});
