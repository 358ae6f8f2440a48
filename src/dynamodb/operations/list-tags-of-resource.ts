import type { Operation } from '../operation.js';
import { recordToTags, tableForArn } from './tags.js';

export interface ListTagsOfResourceInput {
  ResourceArn: string;
  NextToken?: string;
}

export const listTagsOfResource: Operation<ListTagsOfResourceInput> = {
  name: 'ListTagsOfResource',
  execute({ input, ctx, env }) {
    const table = tableForArn(input.ResourceArn, ctx, env.tables);
    // At most 50 tags per table, so one page always holds them all.
    return { Tags: recordToTags(table.Tags) };
  },
};
