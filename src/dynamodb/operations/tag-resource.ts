import type { Operation } from '../operation.js';
import { checkTagLimit, type Tag, tableNameOfArn, tableOfArn, tagsToAdd } from './tags.js';

export interface TagResourceInput {
  ResourceArn: string;
  Tags: Tag[];
}

export const tagResource: Operation<TagResourceInput> = {
  name: 'TagResource',
  execute({ input, ctx, env }) {
    const name = tableNameOfArn(input.ResourceArn, ctx);
    const added = tagsToAdd(input.Tags);
    tableOfArn(name, input.ResourceArn, ctx, env.tables);
    env.tables.update(ctx.principal.accountId, name, (d) => {
      const tags = { ...d.Tags, ...added };
      checkTagLimit(Object.keys(tags).length);
      return { ...d, Tags: tags };
    });
    return {};
  },
};
