import type { Operation } from '../operation.js';
import { checkTagLimit, type Tag, tableForArn, tagsToRecord, validateTags } from './tags.js';

export interface TagResourceInput {
  ResourceArn: string;
  Tags: Tag[];
}

export const tagResource: Operation<TagResourceInput> = {
  name: 'TagResource',
  execute({ input, ctx, env }) {
    const table = tableForArn(input.ResourceArn, ctx, env.tables);
    validateTags(input.Tags);
    const tags = { ...table.Tags, ...tagsToRecord(input.Tags) };
    checkTagLimit(tags);
    env.tables.update(ctx.principal.accountId, table.TableName, (d) => ({ ...d, Tags: tags }));
    return {};
  },
};
