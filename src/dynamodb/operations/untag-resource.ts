import type { Operation } from '../operation.js';
import { tableForArn } from './tags.js';

export interface UntagResourceInput {
  ResourceArn: string;
  TagKeys: string[];
}

export const untagResource: Operation<UntagResourceInput> = {
  name: 'UntagResource',
  execute({ input, ctx, env }) {
    const table = tableForArn(input.ResourceArn, ctx, env.tables);
    const tags = Object.fromEntries(Object.entries(table.Tags).filter(([key]) => !input.TagKeys.includes(key)));
    env.tables.update(ctx.principal.accountId, table.TableName, (d) => ({ ...d, Tags: tags }));
    return {};
  },
};
