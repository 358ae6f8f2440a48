import { accessKey } from '../access.js';
import { defineOperation } from '../operation.js';

interface EnableKeyInput {
  KeyId: string;
}

export const enableKeyOperation = defineOperation<EnableKeyInput, object>({
  name: 'EnableKey',
  readOnly: false,
  execute(request) {
    const { key } = accessKey(request, request.input.KeyId, 'EnableKey');
    request.env.store.putKey({ ...key, state: 'Enabled' });
    return {};
  },
});
