import { accessKey } from '../access.js';
import { defineOperation } from '../operation.js';

interface DisableKeyRotationInput {
  KeyId: string;
}

export const disableKeyRotationOperation = defineOperation<DisableKeyRotationInput, object>({
  name: 'DisableKeyRotation',
  readOnly: false,
  execute(request) {
    const { key } = accessKey(request, request.input.KeyId, 'DisableKeyRotation');
    request.env.store.putKey({ ...key, rotation: { enabled: false } });
    return {};
  },
});
