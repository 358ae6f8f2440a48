import { accessKey } from '../access.js';
import { defineOperation } from '../operation.js';

interface DisableKeyInput {
  KeyId: string;
}

export const disableKeyOperation = defineOperation<DisableKeyInput, object>({
  name: 'DisableKey',
  readOnly: false,
  execute(request) {
    const { key } = accessKey(request, request.input.KeyId, 'DisableKey');
    request.env.store.putKey({ ...key, state: 'Disabled' });
    return {};
  },
});
