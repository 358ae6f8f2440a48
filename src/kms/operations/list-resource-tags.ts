import { accessKey } from '../access.js';
import { defineOperation } from '../operation.js';
import { pageMembers, paginate } from '../pagination.js';

interface ListResourceTagsInput {
  KeyId: string;
  Limit?: number;
  Marker?: string;
}

export const listResourceTagsOperation = defineOperation<ListResourceTagsInput, object>({
  name: 'ListResourceTags',
  readOnly: true,
  execute(request) {
    const { input } = request;
    const { key } = accessKey(request, input.KeyId, 'ListResourceTags');
    const tags = [...key.tags].sort((a, b) => (a.TagKey < b.TagKey ? -1 : a.TagKey > b.TagKey ? 1 : 0));
    const page = paginate(tags, (t) => t.TagKey, { defaultLimit: 50, maxLimit: 50 }, input.Limit, input.Marker);
    return { Tags: page.items, ...pageMembers(page) };
  },
});
