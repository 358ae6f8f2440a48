import { accessKey } from '../access.js';
import { defineOperation } from '../operation.js';

interface UntagResourceInput {
  KeyId: string;
  TagKeys: string[];
}

/** Removing a tag the key does not have is not an error. */
export const untagResourceOperation = defineOperation<UntagResourceInput, object>({
  name: 'UntagResource',
  readOnly: false,
  execute(request) {
    const { key } = accessKey(request, request.input.KeyId, 'UntagResource');
    const removed = new Set(request.input.TagKeys);
    request.env.store.putKey({ ...key, tags: key.tags.filter((t) => !removed.has(t.TagKey)) });
    return {};
  },
});
