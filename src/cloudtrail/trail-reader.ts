/**
 * Read-only access to a data directory's trail for the CLI (`sealdb audit lookup|tail --data-dir`),
 * safe while a server is appending to it: every call lists the files afresh, and an open hour
 * that the server closes in between is read from its log file instead.
 */
import { join } from 'node:path';
import type { RootOfTrust } from '../encryption/root-of-trust.js';
import type { CloudTrailRecord } from './record.js';
import { TrailCipher } from './sealed-file.js';
import { TrailFiles } from './trail-files.js';
import type { TrailSource } from './trail-source.js';
import { TRAIL_FOLDER } from './trail-store.js';

export class DiskTrailReader implements TrailSource {
  readonly #cipher: TrailCipher;
  readonly #files: TrailFiles;

  constructor(
    dataDir: string,
    root: RootOfTrust,
    private readonly region: string,
  ) {
    this.#cipher = new TrailCipher(root);
    this.#files = new TrailFiles(join(dataDir, TRAIL_FOLDER), this.#cipher);
  }

  /** Accounts with a trail in this region. */
  async accounts(): Promise<string[]> {
    const { logs } = await this.#files.list();
    const open = await this.#files.openHours();
    const ids = [...logs.map((l) => l.key), ...open].filter((k) => k.region === this.region).map((k) => k.accountId);
    return [...new Set(ids)].sort();
  }

  async hours(accountId: string): Promise<readonly number[]> {
    const { logs } = await this.#files.list();
    const open = await this.#files.openHours();
    const hours = [...logs.map((l) => l.key), ...open]
      .filter((k) => k.accountId === accountId && k.region === this.region)
      .map((k) => k.hour);
    return [...new Set(hours)].sort((a, b) => a - b);
  }

  async readHour(accountId: string, hour: number): Promise<readonly CloudTrailRecord[]> {
    const open = (await this.#files.openHours()).find(
      (o) => o.accountId === accountId && o.region === this.region && o.hour === hour,
    );
    if (open) {
      try {
        return await this.#files.readOpenHour(open.path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    const { logs } = await this.#files.list();
    const out: CloudTrailRecord[] = [];
    for (const log of logs) {
      if (log.key.accountId === accountId && log.key.region === this.region && log.key.hour === hour) {
        out.push(...(await this.#files.readLog(log.objectKey)).records);
      }
    }
    return out;
  }

  close(): void {
    this.#cipher.destroy();
  }
}
