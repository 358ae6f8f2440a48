/**
 * Reads the objects of one import into its new table, off the request path, as DynamoDB's import
 * from S3 does (behaviour measured against AWS by scylladb's test_import.py):
 * every object under the prefix, in key order; empty and whitespace-only lines ignored; a zero-length
 * object is zero items; the first line that cannot become an item abandons the rest of its object
 * (one error); ProcessedSizeBytes counts uncompressed bytes; ProcessedItemCount =
 * ImportedItemCount + ErrorCount, and ImportedItemCount counts writes (a key written twice counts
 * twice). A sealed object (sealdb's KMS envelope) is opened with one KMS Decrypt as the caller.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import type { KeyCaller } from '../../encryption/table-keys.js';
import { AwsError } from '../../http/aws-error.js';
import type { StoredItem } from '../../storage/table-file.js';
import type { Item } from '../attribute-value.js';
import { checkIndexKeys } from '../indexes/entries.js';
import { toStored } from '../item-codec.js';
import { checkItemKey, validateAttributeMap, validateItemSize } from '../item-validation.js';
import type { OpenTable } from '../tables.js';
import type { LocalBuckets } from './bucket.js';
import { isSealed } from './envelope.js';
import { type CsvSettings, csvItem, csvRecords, ItemFormatError, ionItems, parseDynamoDbJsonLine } from './formats.js';
import type { KmsSealer } from './kms-sealer.js';
import type { ImportErrorEntry, ImportRecord } from './records.js';

const gunzipAsync = promisify(gunzip);

/** How many error entries an import keeps (its "log stream"); the count goes on past it. */
export const MAX_LOGGED_ERRORS = 100;

export interface ImportJobOptions {
  readonly record: ImportRecord;
  /** The new table (its definition and indexes: what an item is checked against). */
  readonly table: OpenTable;
  /** Puts one slice of items into the table, committed whole (over the engine: one unit of work). */
  readonly put: (items: StoredItem[]) => Promise<void>;
  readonly buckets: LocalBuckets;
  readonly sealer: KmsSealer;
  readonly caller: KeyCaller;
  readonly sliceMs: number;
  readonly stopping: () => boolean;
}

export interface ImportTotals {
  processedBytes: number;
  processed: number;
  imported: number;
  errors: number;
  readonly log: ImportErrorEntry[];
}

export async function runImport(options: ImportJobOptions): Promise<ImportTotals> {
  const { record, buckets } = options;
  const bucket = record.S3BucketSource.S3Bucket;
  const totals: ImportTotals = { processedBytes: 0, processed: 0, imported: 0, errors: 0, log: [] };
  for (const key of buckets.list(bucket, record.S3BucketSource.S3KeyPrefix ?? '')) {
    if (options.stopping()) throw new Error(`import ${record.ImportArn} stopped by shutdown`);
    await importObject(options, key, totals);
  }
  return totals;
}

async function importObject(options: ImportJobOptions, key: string, totals: ImportTotals): Promise<void> {
  const { record } = options;
  const bucket = record.S3BucketSource.S3Bucket;
  let itemIndex = 0;
  const fail = (message: string) => {
    totals.errors++;
    totals.processed++;
    if (totals.log.length < MAX_LOGGED_ERRORS) {
      totals.log.push({
        itemS3Pointer: { bucket, key, itemIndex },
        importArn: record.ImportArn,
        errorMessages: [message],
      });
    }
  };
  let data: Buffer;
  try {
    data = options.buckets.get(bucket, key);
    if (isSealed(data)) data = await options.sealer.open(data, options.caller, record.region);
    data = await decompress(data, record.InputCompressionType);
  } catch (error) {
    fail(messageOf(error));
    return;
  }
  totals.processedBytes += data.length;
  if (data.length === 0) return;
  const items = parse(data, record, options.table);
  const slice: StoredItem[] = [];
  let started = performance.now();
  try {
    for (;;) {
      let next: IteratorResult<unknown>;
      try {
        next = items.next();
      } catch (error) {
        fail(messageOf(error));
        break;
      }
      if (next.done) break;
      let item: Item;
      try {
        item = checkItem(next.value, options.table);
      } catch (error) {
        // The first item DynamoDB cannot take ends the object (the rest is not read).
        fail(messageOf(error));
        break;
      }
      slice.push(toStored(item, options.table.keys));
      totals.processed++;
      totals.imported++;
      itemIndex++;
      if (slice.length >= 256 || performance.now() - started >= options.sliceMs) {
        await options.put(slice.splice(0));
        await nextTurn();
        started = performance.now();
      }
    }
  } finally {
    await options.put(slice.splice(0));
    await nextTurn();
  }
}

async function decompress(data: Buffer, type: ImportRecord['InputCompressionType']): Promise<Buffer> {
  if (type === 'GZIP') return data.length === 0 ? data : gunzipAsync(data);
  if (type === 'ZSTD') return data.length === 0 ? data : Buffer.from(zstdDecompress(data));
  return data;
}

function* parse(data: Buffer, record: ImportRecord, table: OpenTable): Generator<unknown> {
  if (record.InputFormat === 'ION') {
    yield* ionItems(data);
    return;
  }
  const text = data.toString('utf8');
  if (record.InputFormat === 'DYNAMODB_JSON') {
    // Line by line as they are reached: a large object is never split into one big array.
    for (let start = 0; start < text.length; ) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      const line = text.slice(start, end);
      start = end + 1;
      if (line.trim() !== '') yield parseDynamoDbJsonLine(line);
    }
    return;
  }
  const csv = record.InputFormatOptions?.Csv;
  const settings: CsvSettings = {
    delimiter: csv?.Delimiter ?? ',',
    ...(csv?.HeaderList ? { headerList: csv.HeaderList } : {}),
    keyTypes: new Map(
      table.definition.AttributeDefinitions.map((a) => [a.AttributeName, a.AttributeType as 'S' | 'N' | 'B']),
    ),
  };
  let header = settings.headerList;
  for (const fields of csvRecords(text, settings.delimiter)) {
    if (!header) {
      header = fields;
      continue;
    }
    yield csvItem(header, fields, settings);
  }
}

/** An item as PutItem would take it: values, size, the key and the index keys. */
function checkItem(raw: unknown, table: OpenTable): Item {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ItemFormatError('Item is not a map');
  const item = validateAttributeMap(raw);
  validateItemSize(item);
  checkItemKey(item, table.definition.KeySchema, table.definition.AttributeDefinitions);
  checkIndexKeys(table.indexes.maintained, item);
  return item;
}

function messageOf(error: unknown): string {
  if (error instanceof AwsError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
