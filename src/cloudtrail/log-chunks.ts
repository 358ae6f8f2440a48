/**
 * Turns a stream of records into CloudTrail log file contents of bounded size: a busy hour is
 * delivered as several log files (CloudTrail too delivers an hour in many files), so that closing
 * an hour, exporting it, or reading one of its files for a lookup never holds more than one file.
 */
import type { CloudTrailRecord } from './record.js';

/** Uncompressed bytes of a log file's `{"Records":[...]}` before a new file starts. */
export const LOG_FILE_BYTES = 2 * 1024 * 1024;

export interface LogChunk {
  /** Position in the hour of the chunk's first record. */
  readonly first: number;
  /** The uncompressed `{"Records":[...]}` bytes, exactly as `JSON.stringify({ Records })` writes them. */
  readonly content: Buffer;
  readonly records: readonly CloudTrailRecord[];
}

export class LogChunker {
  #parts: Buffer[] = [];
  #records: CloudTrailRecord[] = [];
  #bytes = 0;
  #first = 0;
  #next = 0;

  constructor(private readonly emit: (chunk: LogChunk) => Promise<void>) {}

  /** `json` is the record's JSON, as stored in its frame. */
  async add(json: Buffer): Promise<void> {
    if (this.#parts.length > 0 && this.#bytes + json.length + 1 > LOG_FILE_BYTES) await this.#flush();
    this.#parts.push(json);
    this.#records.push(JSON.parse(json.toString('utf8')) as CloudTrailRecord);
    this.#bytes += json.length + 1;
    this.#next++;
  }

  async finish(): Promise<void> {
    if (this.#parts.length > 0) await this.#flush();
  }

  async #flush(): Promise<void> {
    const pieces: Buffer[] = [Buffer.from('{"Records":[', 'utf8')];
    this.#parts.forEach((part, i) => {
      if (i > 0) pieces.push(Buffer.from(',', 'utf8'));
      pieces.push(part);
    });
    pieces.push(Buffer.from(']}', 'utf8'));
    const chunk = { first: this.#first, content: Buffer.concat(pieces), records: this.#records };
    this.#parts = [];
    this.#records = [];
    this.#bytes = 0;
    this.#first = this.#next;
    await this.emit(chunk);
  }
}
