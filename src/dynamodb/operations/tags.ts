/** Tag shapes and the rules TagResource, UntagResource, ListTagsOfResource and CreateTable share. */
import type { CallContext } from '../../http/service.js';
import { resourceNotFound, validationError } from '../errors.js';
import type { TableDefinition } from '../table-definition.js';
import type { TableManager } from '../tables.js';

export interface Tag {
  Key: string;
  Value: string;
}

const ARN = /^arn:aws:dynamodb:([a-z0-9-]+):(\d{12}):table\/([a-zA-Z0-9_.-]{3,255})$/;
const MAX_TAGS = 50;

export function validateTags(tags: readonly Tag[]): void {
  const keys = new Set<string>();
  for (const tag of tags) {
    if (tag.Key.startsWith('aws:'))
      throw validationError('One or more parameter values were invalid: Tag keys may not start with "aws:"');
    if (keys.has(tag.Key)) throw validationError('One or more parameter values were invalid: Duplicate tag keys found');
    keys.add(tag.Key);
  }
}

export function tagsToRecord(tags: readonly Tag[]): Record<string, string> {
  return Object.fromEntries(tags.map((t) => [t.Key, t.Value]));
}

export function recordToTags(tags: Record<string, string>): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

/** Resolves a table ARN in the caller's account; other accounts' tables are reported as not found. */
export function tableForArn(arn: string, ctx: CallContext, tables: TableManager): TableDefinition {
  const match = ARN.exec(arn);
  if (!match) throw validationError(`Invalid TableArn: Invalid ResourceArn provided as input ${arn}`);
  const [, region, account, name] = match as unknown as [string, string, string, string];
  const table = account === ctx.principal.accountId && region === ctx.region ? tables.find(account, name) : undefined;
  if (!table) throw resourceNotFound(`Requested resource not found: ResourcArn: ${arn} not found`);
  return table;
}

export function checkTagLimit(tags: Record<string, string>): void {
  if (Object.keys(tags).length > MAX_TAGS) {
    throw validationError('One or more parameter values were invalid: The number of tags exceeds the limit of 50');
  }
}
