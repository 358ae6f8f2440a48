import type { Operation } from '../operation.js';
import { recordToTags, tableNameOfArn, tableOfArn } from './tags.js';

export interface ListTagsOfResourceInput {
  ResourceArn: string;
  NextToken?: string;
}

export const listTagsOfResource: Operation<ListTagsOfResourceInput> = {
  name: 'ListTagsOfResource',
  execute({ input, ctx, env }) {
    const table = tableOfArn(tableNameOfArn(input.ResourceArn, ctx), input.ResourceArn, ctx, env.tables);
    // At most 50 tags per table, so one page always holds them all.
    return { Tags: recordToTags(table.Tags) };
  },
};
