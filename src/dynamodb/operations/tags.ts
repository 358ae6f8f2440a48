/**
 * Tag shapes and the rules TagResource, UntagResource, ListTagsOfResource and CreateTable share.
 * DynamoDB checks tags itself rather than through its model constraints, so the messages here
 * are its own, as recorded against DynamoDB by ack-api-quirks (DDB-TABLE-105/106/107/108/372,
 * DDB-TABLE-071 and the DDB-TABLE-442 message catalogue).
 */
import type { CallContext } from '../../http/service.js';
import { setOwnEntry } from '../../validation/own-entry.js';
import { accessDenied, invalidParameter, resourceNotFound, validationError } from '../errors.js';
import type { TableDefinition } from '../table-definition.js';
import { tableNameViolations } from '../table-name.js';
import type { TableManager } from '../tables.js';

/** As clients send it: DynamoDB reports a missing Key or Value as an invalid one. */
export interface Tag {
  Key?: string;
  Value?: string;
}

const MAX_TAGS = 50;
const MAX_KEY_LENGTH = 128;
const MAX_VALUE_LENGTH = 256;
/** AWS's tag character set: Unicode letters, digits and white space, and `_ . : / = + - @`. */
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** Lengths are in Unicode characters, not UTF-16 units or bytes. */
const isTagText = (text: string, min: number, max: number): boolean => {
  const length = [...text].length;
  return length >= min && length <= max && TAG_TEXT.test(text);
};

const LIMIT_MESSAGE = 'Number of Tags exceed the current limit for the provided ResourceArn';

function checkKey(key: string | undefined): string {
  if (key === undefined || !isTagText(key, 1, MAX_KEY_LENGTH)) {
    throw validationError(`The Tag Key provided is invalid, Key: ${key ?? 'null'}`);
  }
  // Any case: `AWS:x` is refused too, `myaws:x` is not.
  if (key.toLowerCase().startsWith('aws:')) throw validationError(`Tag Key cannot be prefixed with aws:, Key: ${key}`);
  return key;
}

/** The tags of a TagResource or CreateTable request as a record, each checked; all or nothing. */
export function validateTags(tags: readonly Tag[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (const tag of tags) {
    const key = checkKey(tag.Key);
    const value = tag.Value;
    if (value === undefined || !isTagText(value, 0, MAX_VALUE_LENGTH)) {
      throw validationError(`The Tag Value provided is invalid, Value: ${value ?? 'null'}`);
    }
    if (Object.hasOwn(record, key)) {
      throw validationError(`Duplicate Tag Keys provided as input: Duplicate Tag Key found ${key}`);
    }
    setOwnEntry(record, key, value);
  }
  return record;
}

/** TagResource's tags: at least one. */
export function tagsToAdd(tags: readonly Tag[]): Record<string, string> {
  if (tags.length === 0) throw validationError('Atleast one Tag needs to be provided as Input.');
  return validateTags(tags);
}

/** UntagResource's keys: at least one, each a valid key, no more than a table can hold. */
export function tagKeysToRemove(keys: readonly string[]): readonly string[] {
  if (keys.length === 0) throw validationError('Atleast one Tag Key needs to be provided as Input.');
  for (const key of keys) checkKey(key);
  checkTagLimit(keys.length);
  return keys;
}

/** The limit applies to the tags a table would have afterwards (and to UntagResource's key list). */
export function checkTagLimit(count: number): void {
  if (count > MAX_TAGS) throw validationError(LIMIT_MESSAGE);
}

export function recordToTags(tags: Record<string, string>): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

/**
 * The table a ResourceArn names, in the caller's account and region: a malformed ARN, another
 * account's or region's, or an index's, is refused in DynamoDB's words before anything is looked up.
 */
export function tableNameOfArn(arn: string, ctx: CallContext): string {
  if (!arn.startsWith('arn:')) throw invalidParameter(`ARNs must start with 'arn:': ${arn}`);
  const [, partition, service, region, account, ...rest] = arn.split(':');
  const resource = rest.join(':');
  if (partition !== 'aws' || service !== 'dynamodb' || account === undefined || !resource.startsWith('table/')) {
    throw invalidParameter(`Provided Arn is not a DynamoDB resource arn: ${arn}`);
  }
  if (account !== ctx.principal.accountId) throw accessDenied('Access is denied');
  if (region !== ctx.region) throw validationError(`Invalid TableArn: Invalid ResourceArn provided as input ${arn}`);
  const [, name = '', kind, ...more] = resource.split('/');
  if (kind === 'index') {
    throw invalidParameter(
      `Invalid resource arn provided, only table or stream is accepted. Provided resource arn: ${arn}`,
    );
  }
  // sealdb has no streams yet, so a stream ARN names nothing (as a missing table's does).
  if (kind === 'stream' && more.length > 0) throw notFound(arn);
  if (kind !== undefined) throw invalidParameter(`Provided Arn is not a DynamoDB resource arn: ${arn}`);
  if (tableNameViolations(name).length > 0) {
    throw validationError(`Invalid TableArn: Invalid ResourceArn provided as input ${arn}`);
  }
  return name;
}

const notFound = (arn: string): Error =>
  resourceNotFound(`Requested resource not found: ResourceArn: ${arn} not found`);

/** The table of a ResourceArn already checked by tableNameOfArn. */
export function tableOfArn(name: string, arn: string, ctx: CallContext, tables: TableManager): TableDefinition {
  const table = tables.find(ctx.principal.accountId, name);
  if (!table) throw notFound(arn);
  return table;
}
