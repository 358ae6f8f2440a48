import { accessKey } from '../access.js';
import { defineOperation } from '../operation.js';
import { checkTags, mergeTags } from '../request-checks.js';
import type { Tag } from '../types.js';

interface TagResourceInput {
  KeyId: string;
  Tags: Tag[];
}

export const tagResourceOperation = defineOperation<TagResourceInput, object>({
  name: 'TagResource',
  readOnly: false,
  execute(request) {
    checkTags(request.input.Tags);
    const { key } = accessKey(request, request.input.KeyId, 'TagResource');
    request.env.store.putKey({ ...key, tags: mergeTags(key.tags, request.input.Tags) });
    return {};
  },
});
