import { accessKey } from '../access.js';
import { defineOperation } from '../operation.js';
import { toEpochSeconds } from '../types.js';

interface GetKeyRotationStatusInput {
  KeyId: string;
}

export const getKeyRotationStatusOperation = defineOperation<GetKeyRotationStatusInput, object>({
  name: 'GetKeyRotationStatus',
  readOnly: true,
  execute(request) {
    const { key, arn } = accessKey(request, request.input.KeyId, 'GetKeyRotationStatus', { crossAccount: true });
    const { rotation } = key;
    return {
      KeyRotationEnabled: rotation.enabled,
      KeyId: arn,
      ...(rotation.enabled && rotation.periodDays !== undefined ? { RotationPeriodInDays: rotation.periodDays } : {}),
      ...(rotation.enabled && rotation.nextRotationMs !== undefined
        ? { NextRotationDate: toEpochSeconds(rotation.nextRotationMs) }
        : {}),
    };
  },
});
