import type { Operation } from '../../dynamodb/operation.js';
import type { TableDefinition } from '../../dynamodb/table-definition.js';
import { resolveTableName } from '../../dynamodb/table-name.js';
import { parseStreamArn } from '../arn.js';
import { streamArn, streamExpired } from '../definition.js';
import { tableNotFound, validationError } from '../errors.js';
import { checkLimit, MAX_LIST_LIMIT } from '../limits.js';

export interface ListStreamsInput {
  TableName?: string;
  Limit?: number;
  ExclusiveStartStreamArn?: string;
}

interface Listed {
  StreamArn: string;
  TableName: string;
  StreamLabel: string;
}

/** The streams still readable (the enabled one and those disabled less than 24 hours ago), by ARN. */
function streamsOf(definition: TableDefinition, now: number): Listed[] {
  return (definition.Streams ?? [])
    .filter((stream) => !streamExpired(stream, now))
    .map((stream) => ({
      StreamArn: streamArn(definition.TableArn, stream.StreamLabel),
      TableName: definition.TableName,
      StreamLabel: stream.StreamLabel,
    }));
}

export const listStreams: Operation<ListStreamsInput> = {
  name: 'ListStreams',
  execute({ input, ctx, env }) {
    checkLimit(input.Limit, MAX_LIST_LIMIT);
    const start = input.ExclusiveStartStreamArn;
    if (start !== undefined && !parseStreamArn(start)) throw validationError('Invalid StreamArn');
    const account = ctx.principal.accountId;
    const now = env.clock.now();
    let streams: Listed[];
    if (input.TableName !== undefined) {
      const name = resolveTableName(input.TableName, ctx);
      const definition = env.tables.find(account, name);
      // A deleted table's streams are listed under its name for 24 hours (streams/retired.ts).
      const retired = env.tables.retired(account, name);
      if (!definition && retired.length === 0) throw tableNotFound(name);
      streams = [definition, ...retired.map((r) => r.definition)].flatMap((d) => (d ? streamsOf(d, now) : []));
    } else {
      streams = [];
      // Table names in pages of the catalog's order; a table without streams adds nothing.
      let after = '';
      for (;;) {
        const names = env.tables.list(account, after, 100);
        for (const name of names) {
          const definition = env.tables.find(account, name);
          if (definition) streams.push(...streamsOf(definition, now));
        }
        if (names.length < 100) break;
        after = names.at(-1) as string;
      }
      for (const retired of env.tables.retired(account)) streams.push(...streamsOf(retired.definition, now));
    }
    // In ARN order, so a page resumes after its last ARN whatever was created or deleted meanwhile.
    streams.sort((a, b) => (a.StreamArn < b.StreamArn ? -1 : a.StreamArn > b.StreamArn ? 1 : 0));
    const rest = start === undefined ? streams : streams.filter((s) => s.StreamArn > start);
    const limit = input.Limit ?? MAX_LIST_LIMIT;
    const page = rest.slice(0, limit);
    const last = page.at(-1);
    return {
      Streams: page,
      ...(rest.length > limit && last ? { LastEvaluatedStreamArn: last.StreamArn } : {}),
    };
  },
};
