import type { Operation } from '../operation.js';
import { tableNameOfArn, tableOfArn, tagKeysToRemove } from './tags.js';

export interface UntagResourceInput {
  ResourceArn: string;
  TagKeys: string[];
}

export const untagResource: Operation<UntagResourceInput> = {
  name: 'UntagResource',
  execute({ input, ctx, env }) {
    const name = tableNameOfArn(input.ResourceArn, ctx);
    const keys = new Set(tagKeysToRemove(input.TagKeys));
    tableOfArn(name, input.ResourceArn, ctx, env.tables);
    env.tables.update(ctx.principal.accountId, name, (d) => ({
      ...d,
      Tags: Object.fromEntries(Object.entries(d.Tags).filter(([key]) => !keys.has(key))),
    }));
    return {};
  },
};
