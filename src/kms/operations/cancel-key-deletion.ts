import { accessKey } from '../access.js';
import { defineOperation } from '../operation.js';
import type { KeyRecord } from '../types.js';

interface CancelKeyDeletionInput {
  KeyId: string;
}

export const cancelKeyDeletionOperation = defineOperation<CancelKeyDeletionInput, object>({
  name: 'CancelKeyDeletion',
  readOnly: false,
  execute(request) {
    const { key, arn } = accessKey(request, request.input.KeyId, 'CancelKeyDeletion');
    // As in KMS, a key whose deletion is cancelled comes back disabled.
    const { deletionMs: _d, pendingWindowInDays: _w, ...rest } = key;
    const restored: KeyRecord = { ...rest, state: 'Disabled' };
    request.env.store.putKey(restored);
    return { KeyId: arn };
  },
});
