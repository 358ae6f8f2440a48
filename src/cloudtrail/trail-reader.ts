/**
 * Read-only access to a data directory's trail for the CLI (`sealdb audit lookup|tail --data-dir`),
 * safe while a server is appending to it: every call lists the files afresh, and an open hour
 * that the server closes in between is read from its log file instead.
 */
import { join } from 'node:path';
import type { RootOfTrust } from '../encryption/root-of-trust.js';
import { describeDamage } from './frames.js';
import { chunkStart } from './layout.js';
import { OpenHourSnapshot } from './open-hour.js';
import type { CloudTrailRecord } from './record.js';
import { TrailCipher } from './sealed-file.js';
import { TrailFiles } from './trail-files.js';
import { type HourScan, type RecordVisitor, scanList, type TrailSource } from './trail-source.js';
import { TRAIL_FOLDER } from './trail-store.js';

export class DiskTrailReader implements TrailSource {
  readonly #cipher: TrailCipher;
  readonly #files: TrailFiles;

  constructor(
    dataDir: string,
    root: RootOfTrust,
    private readonly region: string,
    /** Told about damage found while reading (the records around it are still read). */
    private readonly warn: (message: string) => void = () => undefined,
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

  async scanHour(accountId: string, hour: number, scan: HourScan, visit: RecordVisitor): Promise<void> {
    const open = (await this.#files.openHours()).find(
      (o) => o.accountId === accountId && o.region === this.region && o.hour === hour,
    );
    if (open) {
      let snapshot: OpenHourSnapshot | undefined;
      try {
        const loaded = await OpenHourSnapshot.load(this.#files.path(open.path), open.path, this.#cipher);
        snapshot = loaded.snapshot;
        if (loaded.damage.length > 0) {
          this.warn(
            `open hour file ${open.path} is damaged: ${describeDamage(loaded.damage)} cannot be read (the other records are shown); run sealdb audit verify`,
          );
        }
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      if (snapshot) {
        try {
          await snapshot.scan(scan, visit, (position) =>
            this.warn(`open hour file ${open.path}: the record at position ${position} does not authenticate`),
          );
        } finally {
          await snapshot.close();
        }
        return;
      }
    }
    const { logs } = await this.#files.list();
    const files = logs
      .filter((l) => l.key.accountId === accountId && l.key.region === this.region && l.key.hour === hour)
      .map((l) => ({ objectKey: l.objectKey, first: chunkStart(l.key.unique) }))
      .sort((a, b) => b.first - a.first);
    for (const { objectKey, first } of files) {
      if (scan.before !== undefined && first >= scan.before) continue;
      if (!scanList((await this.#files.readLog(objectKey)).records, first, scan, visit)) return;
    }
  }

  /** Every record of the hour, oldest first (for tools and tests; lookups scan instead). */
  async readHour(accountId: string, hour: number): Promise<CloudTrailRecord[]> {
    const out: CloudTrailRecord[] = [];
    await this.scanHour(accountId, hour, {}, (record) => {
      out.push(record);
      return true;
    });
    return out.reverse();
  }

  close(): void {
    this.#cipher.destroy();
  }
}
