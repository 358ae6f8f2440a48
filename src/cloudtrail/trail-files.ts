/**
 * The trail's files under `<dataDir>/cloudtrail/`: listing them by kind and reading them back
 * (unsealed, uncompressed, parsed). Read-only except for `writeClosed`, so the CLI can use it on a
 * data directory a running server is writing to.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { listFiles, writeFileDurably } from './durable-fs.js';
import type { FrameScanResult, ScannedFrame } from './frames.js';
import {
  type DigestFileKey,
  LOGS_FOLDER,
  type LogFileKey,
  OPEN_FOLDER,
  parseDigestObjectKey,
  parseLogObjectKey,
  parseOpenHourPath,
  SEALED_SUFFIX,
} from './layout.js';
import { OpenHourFile } from './open-hour.js';
import type { CloudTrailRecord } from './record.js';
import type { SealHeader, TrailCipher, Unsealed } from './sealed-file.js';

export interface LogFileRef {
  readonly objectKey: string;
  readonly key: LogFileKey;
}

export interface DigestFileRef {
  readonly objectKey: string;
  readonly key: DigestFileKey;
}

export interface OpenHourRef {
  readonly path: string;
  readonly accountId: string;
  readonly region: string;
  readonly hour: number;
}

export interface TrailListing {
  readonly logs: LogFileRef[];
  readonly digests: DigestFileRef[];
  /** Paths (relative to the trail folder) under AWSLogs/ that are neither: never written by sealdb. */
  readonly strangers: string[];
}

export interface LogContent {
  /** The uncompressed `{"Records":[...]}` bytes the digest hashes. */
  readonly content: Buffer;
  readonly records: CloudTrailRecord[];
}

export class TrailFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrailFormatError';
  }
}

export class TrailFiles {
  constructor(
    /** `<dataDir>/cloudtrail` */
    readonly root: string,
    private readonly cipher: TrailCipher,
  ) {}

  path(relative: string): string {
    return join(this.root, ...relative.split('/'));
  }

  async list(): Promise<TrailListing> {
    const logs: LogFileRef[] = [];
    const digests: DigestFileRef[] = [];
    const strangers: string[] = [];
    for (const file of await listFiles(this.root, LOGS_FOLDER)) {
      const objectKey = file.endsWith(SEALED_SUFFIX) ? file.slice(0, -SEALED_SUFFIX.length) : undefined;
      const logKey = objectKey ? parseLogObjectKey(objectKey) : undefined;
      const digestKey = objectKey && !logKey ? parseDigestObjectKey(objectKey) : undefined;
      if (objectKey && logKey) logs.push({ objectKey, key: logKey });
      else if (objectKey && digestKey) digests.push({ objectKey, key: digestKey });
      else strangers.push(file);
    }
    return { logs, digests, strangers };
  }

  async openHours(): Promise<OpenHourRef[]> {
    const out: OpenHourRef[] = [];
    for (const path of await listFiles(this.root, OPEN_FOLDER)) {
      const parsed = parseOpenHourPath(path);
      if (parsed) out.push({ path, ...parsed });
    }
    return out.sort((a, b) => a.hour - b.hour);
  }

  /** The unsealed content of a closed (log or digest) file, by its CloudTrail object key. */
  async readClosed(objectKey: string): Promise<Unsealed> {
    const sealed = await readFile(this.path(objectKey + SEALED_SUFFIX));
    return this.cipher.unseal(objectKey, sealed);
  }

  async writeClosed(objectKey: string, gzipped: Buffer, header: SealHeader = {}): Promise<void> {
    await writeFileDurably(this.path(objectKey + SEALED_SUFFIX), this.cipher.seal(objectKey, gzipped, header));
  }

  async readLog(objectKey: string): Promise<LogContent> {
    const { content } = await this.readClosed(objectKey);
    return parseLogContent(gunzip(content));
  }

  /**
   * Streams the authentic frames of an open hour file, or of a set-aside copy (`file`) of the
   * open hour file `keyPath`, and says what damage it found.
   */
  readOpenHour(
    file: string,
    keyPath: string = file,
    visit: (frame: ScannedFrame) => void | Promise<void> = () => undefined,
  ): Promise<FrameScanResult> {
    return OpenHourFile.read(this.path(file), keyPath, this.cipher, visit);
  }
}

export function gunzip(bytes: Buffer): Buffer {
  try {
    return gunzipSync(bytes);
  } catch {
    throw new TrailFormatError('content is not gzip');
  }
}

export function parseLogContent(content: Buffer): LogContent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(content.toString('utf8'));
  } catch {
    throw new TrailFormatError('content is not JSON');
  }
  const records = (parsed as { Records?: unknown })?.Records;
  if (!Array.isArray(records)) throw new TrailFormatError('content has no "Records" list');
  return { content, records: records as CloudTrailRecord[] };
}
