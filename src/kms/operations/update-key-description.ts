import { accessKey } from '../access.js';
import { defineOperation } from '../operation.js';

interface UpdateKeyDescriptionInput {
  KeyId: string;
  Description: string;
}

export const updateKeyDescriptionOperation = defineOperation<UpdateKeyDescriptionInput, object>({
  name: 'UpdateKeyDescription',
  readOnly: false,
  execute(request) {
    const { key } = accessKey(request, request.input.KeyId, 'UpdateKeyDescription');
    request.env.store.putKey({ ...key, description: request.input.Description });
    return {};
  },
});
