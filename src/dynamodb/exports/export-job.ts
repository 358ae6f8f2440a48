/**
 * Writes one full export, off the request path: the items of the pinned snapshot are read a few
 * milliseconds at a time (the event loop is free between slices), gzipped on libuv's thread pool,
 * and written as AWS lays an export out (S3DataExport.Output in the DynamoDB developer guide;
 * file names and the `.md5` checksum files as observed on AWS by scylladb's test_export.py):
 *
 *   <prefix>/AWSDynamoDB/<ExportId>/_started                 empty, written first
 *   <prefix>/AWSDynamoDB/<ExportId>/data/<26 chars>.json.gz   (.ion.gz for ION) gzip, one item per line
 *   <prefix>/AWSDynamoDB/<ExportId>/manifest-files.json       JSON lines: itemCount, md5Checksum, etag, dataFileS3Key
 *   <prefix>/AWSDynamoDB/<ExportId>/manifest-files.md5        base64 MD5 of manifest-files.json
 *   <prefix>/AWSDynamoDB/<ExportId>/manifest-summary.json     the summary manifest
 *   <prefix>/AWSDynamoDB/<ExportId>/manifest-summary.md5
 *
 * md5Checksum is the base64 MD5 of the object, etag S3's ETag of an object uploaded in one
 * multipart part (hex MD5 of the part's MD5, then `-1`), as AWS's own manifests show
 * (`"etag": "af83d6f217c19b8b0fff8023d8ca4716-1"`). With KMS sealing both are of the object as it
 * reads once opened, which is what S3 serves of an SSE-KMS object.
 */
import { createHash, randomBytes } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createGzip } from 'node:zlib';
import type { KeyCaller } from '../../encryption/table-keys.js';
import type { StoredItem } from '../../storage/table-file.js';
import { fromStored } from '../item-codec.js';
import type { WindowChange } from '../pitr/manager.js';
import type { KeyAttributes } from '../table-schema.js';
import { type LocalBuckets, underPrefix } from './bucket.js';
import {
  dynamoDbJsonLine,
  type IncrementalLine,
  incrementalJsonLine,
  incrementalKeys,
  ionIncrementalLine,
  ionLine,
} from './formats.js';
import type { KmsSealer } from './kms-sealer.js';
import type { ExportRecord } from './records.js';

const INCREMENTAL_MIN_BILLED_BYTES = 10_000_000;

/** Plaintext bytes per data file before a new one is begun (files are sealed whole, in memory). */
export const DATA_FILE_BYTES = 32 * 1024 * 1024;

/** The items of a full export, read in groups (a snapshot file's, or the engine's rows in pages). */
export interface ExportSource {
  read(max: number): Promise<StoredItem[]>;
  close(): void;
}

/** An incremental export's changes (PitrManager.changes) and the table's key attributes. */
export interface IncrementalSource {
  readonly changes: AsyncIterator<WindowChange | undefined>;
  readonly keys: KeyAttributes;
  close(): void;
}

/** One exported line and the bytes it bills; `undefined`: no line here (a place to yield). */
type Line = { readonly text: string; readonly size: number } | undefined;

export interface ExportJobOptions {
  readonly record: ExportRecord;
  readonly source: ExportSource | IncrementalSource;
  readonly buckets: LocalBuckets;
  readonly sealer: KmsSealer;
  readonly caller: KeyCaller;
  readonly sliceMs: number;
  readonly now: () => number;
  readonly stopping: () => boolean;
}

export interface ExportResult {
  readonly itemCount: number;
  readonly billedSizeBytes: number;
  readonly manifestKey: string;
  readonly kmsKeyArn?: string;
}

interface FileEntry {
  readonly itemCount: number;
  readonly md5Checksum: string;
  readonly etag: string;
  readonly dataFileS3Key: string;
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** A data file's name: 26 lowercase base32 characters, as in AWS's examples. */
function dataFileName(): string {
  const bytes = randomBytes(26);
  let out = '';
  for (const b of bytes) out += BASE32[b & 31];
  return out;
}

const md5 = (data: Buffer): Buffer => createHash('md5').update(data).digest();
const singlePartEtag = (data: Buffer): string => `${createHash('md5').update(md5(data)).digest('hex')}-1`;

/** The export folder's key: `<prefix>/AWSDynamoDB/<ExportId>/`. */
export function exportFolder(record: ExportRecord): string {
  const exportId = record.ExportArn.slice(record.ExportArn.lastIndexOf('/') + 1);
  return underPrefix(record.destination.S3Prefix, `AWSDynamoDB/${exportId}/`);
}

/**
 * Where the data files go: a full export's under its own folder; an incremental export's in the
 * prefix's shared `AWSDynamoDB/data/` folder, whose files each export's manifest-files.json
 * names ("which data files in the shared data folder are associated with this export",
 * Developer Guide, S3DataExport.Output: the summary manifest).
 */
function dataFolder(record: ExportRecord, folder: string): string {
  return record.incremental ? underPrefix(record.destination.S3Prefix, 'AWSDynamoDB/data/') : `${folder}data/`;
}

/** Items read from the source at a time (a place to yield between groups). */
const READ_GROUP = 64;

/** The lines of the export: one per item (full), or one per changed item (incremental). */
async function* linesOf(record: ExportRecord, source: ExportSource | IncrementalSource): AsyncGenerator<Line> {
  const ion = record.ExportFormat === 'ION';
  if (!('changes' in source)) {
    for (;;) {
      const group = await source.read(READ_GROUP);
      if (group.length === 0) return;
      for (const row of group) {
        yield { text: ion ? ionLine(fromStored(row)) : dynamoDbJsonLine(row.body.toString('utf8')), size: row.size };
      }
    }
  }
  const withOld = record.incremental?.view !== 'NEW_IMAGE';
  for (;;) {
    const next = await source.changes.next();
    if (next.done) return;
    const change = next.value;
    // An item that neither existed before the window nor after it (put, then deleted) has no
    // change to show: the export is compacted to each item's net change (AWS Database Blog,
    // "Introducing incremental export from Amazon DynamoDB to Amazon S3").
    if (!change || (!change.item && !change.old)) {
      yield undefined;
      continue;
    }
    const line: IncrementalLine = {
      micros: change.micros,
      keys: incrementalKeys(change, source.keys),
      ...(change.item ? { newImage: change.item.body.toString('utf8') } : {}),
      ...(withOld && change.old ? { oldImage: change.old.body.toString('utf8') } : {}),
    };
    yield {
      text: ion ? ionIncrementalLine(line) : incrementalJsonLine(line),
      size: (change.item?.size ?? 0) + (withOld ? (change.old?.size ?? 0) : 0),
    };
  }
}

export async function runExport(options: ExportJobOptions): Promise<ExportResult> {
  const { record, source, buckets, sealer, caller } = options;
  const bucket = record.destination.S3Bucket;
  const folder = exportFolder(record);
  const kmsKeyId = record.destination.S3SseAlgorithm === 'KMS' ? record.destination.S3SseKmsKeyId : undefined;
  let kmsKeyArn: string | undefined;
  const put = async (key: string, data: Buffer) => {
    if (kmsKeyId) {
      const sealed = await sealer.seal(data, kmsKeyId, bucket, key, caller, record.region);
      kmsKeyArn = sealed.keyArn;
      buckets.put(bucket, key, sealed.sealed);
    } else buckets.put(bucket, key, data);
  };
  const files: FileEntry[] = [];
  let itemCount = 0;
  let billed = 0;
  const extension = record.ExportFormat === 'ION' ? 'ion.gz' : 'json.gz';
  const lines = linesOf(record, source);
  const dataKeys = dataFolder(record, folder);
  let finished = false;
  try {
    // Inside: a first write refused (a KMS key disabled) still closes the source (over the engine
    // its read holds a connection of the pool).
    await put(`${folder}_started`, Buffer.alloc(0));
    while (!finished) {
      const gzip = createGzip();
      const chunks: Buffer[] = [];
      gzip.on('data', (chunk: Buffer) => chunks.push(chunk));
      const ended = new Promise<void>((resolve, reject) => {
        gzip.on('end', resolve);
        gzip.on('error', reject);
      });
      let fileItems = 0;
      let fileBytes = 0;
      while (!finished && fileBytes < DATA_FILE_BYTES) {
        if (options.stopping()) throw new Error(`export ${record.ExportArn} stopped by shutdown`);
        const started = performance.now();
        let text = '';
        for (let n = 0; ; n++) {
          if ((n & 63) === 63 && performance.now() - started >= options.sliceMs) break;
          const next = await lines.next();
          if (next.done) {
            finished = true;
            break;
          }
          const line = next.value;
          if (!line) continue;
          text += line.text;
          fileItems++;
          billed += line.size;
          if (fileBytes + text.length >= DATA_FILE_BYTES) break;
        }
        fileBytes += text.length;
        if (text && !gzip.write(text)) await new Promise((resolve) => gzip.once('drain', resolve));
        await nextTurn();
      }
      gzip.end();
      await ended;
      const data = Buffer.concat(chunks);
      const key = `${dataKeys}${dataFileName()}.${extension}`;
      await put(key, data);
      files.push({
        itemCount: fileItems,
        md5Checksum: md5(data).toString('base64'),
        etag: singlePartEtag(data),
        dataFileS3Key: key,
      });
      itemCount += fileItems;
    }
  } finally {
    await lines.return(undefined);
    source.close();
  }

  const manifestFiles = Buffer.from(files.map((f) => `${JSON.stringify(f)}\n`).join(''), 'utf8');
  const filesKey = `${folder}manifest-files.json`;
  await put(filesKey, manifestFiles);
  await put(`${folder}manifest-files.md5`, Buffer.from(md5(manifestFiles).toString('base64'), 'utf8'));
  const endTime = options.now();
  // An incremental export bills the change data it processed, at least 10 MB (Developer Guide,
  // S3DataExport.HowItWorks); an empty one is described with BilledSizeBytes 10000000
  // (ack-api-quirks, DDB-EXPORT-019).
  if (record.incremental) billed = Math.max(INCREMENTAL_MIN_BILLED_BYTES, billed);
  const summary = {
    version: '2020-06-30',
    exportArn: record.ExportArn,
    startTime: new Date(record.startTime).toISOString(),
    endTime: new Date(endTime).toISOString(),
    tableArn: record.TableArn,
    tableId: record.TableId,
    // A full export names its instant; an incremental one its window and view (the fields of
    // the summary manifest of an incremental export, Developer Guide, S3DataExport.Output).
    ...(record.incremental
      ? {
          exportFromTime: new Date(record.incremental.from).toISOString(),
          exportToTime: new Date(record.incremental.to).toISOString(),
        }
      : { exportTime: new Date(record.exportTime).toISOString() }),
    s3Bucket: bucket,
    s3Prefix: record.destination.S3Prefix ?? null,
    s3SseAlgorithm: record.destination.S3SseAlgorithm ?? 'AES256',
    s3SseKmsKeyId: kmsKeyArn ?? record.destination.S3SseKmsKeyId ?? null,
    manifestFilesS3Key: filesKey,
    billedSizeBytes: billed,
    itemCount,
    outputFormat: record.ExportFormat,
    ...(record.incremental ? { outputView: record.incremental.view } : {}),
    exportType: record.ExportType ?? 'FULL_EXPORT',
  };
  const summaryBytes = Buffer.from(JSON.stringify(summary), 'utf8');
  const summaryKey = `${folder}manifest-summary.json`;
  await put(summaryKey, summaryBytes);
  await put(`${folder}manifest-summary.md5`, Buffer.from(md5(summaryBytes).toString('base64'), 'utf8'));
  return { itemCount, billedSizeBytes: billed, manifestKey: summaryKey, ...(kmsKeyArn ? { kmsKeyArn } : {}) };
}
