/** Finding the stream an ARN names, as a control-plane read (the catalog) or a table read (the table's key). */
import type { DynamoDbEnvironment } from '../dynamodb/operation.js';
import type { TableDefinition } from '../dynamodb/table-definition.js';
import type { OpenTable } from '../dynamodb/tables.js';
import { openRecovered } from '../dynamodb/transact.js';
import { AwsError } from '../http/aws-error.js';
import type { CallContext } from '../http/service.js';
import { callersStream, type StreamArnParts } from './arn.js';
import { type StreamDefinition, streamExpired } from './definition.js';
import { streamNotFound } from './errors.js';

export interface FoundStream {
  readonly parts: StreamArnParts;
  readonly definition: TableDefinition;
  readonly stream: StreamDefinition;
}

function streamIn(definition: TableDefinition | undefined, parts: StreamArnParts, now: number): StreamDefinition {
  const stream = readableIn(definition, parts, now);
  if (!stream) throw streamNotFound(parts.arn);
  return stream;
}

function readableIn(
  definition: TableDefinition | undefined,
  parts: StreamArnParts,
  now: number,
): StreamDefinition | undefined {
  const stream = definition?.Streams?.find((s) => s.StreamLabel === parts.label);
  return stream && !streamExpired(stream, now) ? stream : undefined;
}

/**
 * The deleted table (kept for its streams, retired.ts) of the ARN's table name whose stream it
 * names: its catalog name and definition. A new table of that name has streams of other labels.
 */
function retiredWith(
  env: DynamoDbEnvironment,
  parts: StreamArnParts,
  now: number,
): { readonly name: string; readonly definition: TableDefinition; readonly stream: StreamDefinition } | undefined {
  for (const retired of env.tables.retired(parts.account, parts.tableName)) {
    const stream = readableIn(retired.definition, parts, now);
    if (stream) return { ...retired, stream };
  }
  return undefined;
}

/** DescribeStream: the catalog alone (no record is read, so no table key is needed). */
export function describedStream(env: DynamoDbEnvironment, ctx: CallContext, arn: string): FoundStream {
  const parts = callersStream(arn, ctx);
  const now = env.clock.now();
  const definition = env.tables.find(parts.account, parts.tableName);
  const live = readableIn(definition, parts, now);
  if (live) return { parts, definition: definition as TableDefinition, stream: live };
  const retired = retiredWith(env, parts, now);
  if (!retired) throw streamNotFound(arn);
  return { parts, definition: retired.definition, stream: retired.stream };
}

/**
 * GetShardIterator and GetRecords read the table's file: the table is opened as the caller, with
 * the same per-connection table-key cache as GetItem, so a table whose key is unusable makes its
 * stream unreadable with the same error.
 */
export async function openStream(
  env: DynamoDbEnvironment,
  ctx: CallContext,
  arn: string,
): Promise<FoundStream & { readonly table: OpenTable }> {
  const parts = callersStream(arn, ctx);
  const now = env.clock.now();
  if (!readableIn(env.tables.find(parts.account, parts.tableName), parts, now)) {
    const retired = retiredWith(env, parts, now);
    if (retired) {
      // A deleted table takes no writes: no staged transaction of its own is left to settle.
      const table = await env.tables.openRetired(parts.account, retired.name, ctx);
      return { parts, definition: table.definition, stream: streamIn(table.definition, parts, env.clock.now()), table };
    }
  }
  let table: OpenTable;
  try {
    table = await openRecovered(env, ctx, parts.account, parts.tableName);
  } catch (error) {
    if (error instanceof AwsError && error.code === 'ResourceNotFoundException') throw streamNotFound(arn);
    throw error;
  }
  const stream = streamIn(table.definition, parts, env.clock.now());
  return { parts, definition: table.definition, stream, table };
}
