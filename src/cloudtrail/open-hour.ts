/**
 * The file an account's current hour is appended to. Each append is a sealed frame that is on disk
 * (fsync'd) before `append` resolves, so a KMS response is never sent for an unrecorded call.
 * Appends that arrive while a sync is in flight share the next write and sync (group commit).
 */
import type { FileHandle } from 'node:fs/promises';
import { open, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ensureDirectory, syncDirectory } from './durable-fs.js';
import type { TrailCipher } from './sealed-file.js';

interface PendingAppend {
  readonly frame: Buffer;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class OpenHourFile {
  readonly #handle: FileHandle;
  readonly #path: string;
  readonly #cipher: TrailCipher;
  #frames: number;
  #pending: PendingAppend[] = [];
  #flushing: Promise<void> | undefined;
  /** After a failed write the file's tail is unknown: later appends would not be readable. */
  #broken: unknown;
  #closed = false;

  private constructor(handle: FileHandle, path: string, cipher: TrailCipher, frames: number) {
    this.#handle = handle;
    this.#path = path;
    this.#cipher = cipher;
    this.#frames = frames;
  }

  /**
   * Opens (creating if needed) the open hour file at `absolutePath`, whose trail-relative path
   * `path` keys its frames. Returns the records already in it; a torn last frame is cut off.
   */
  static async open(
    absolutePath: string,
    path: string,
    cipher: TrailCipher,
  ): Promise<{ file: OpenHourFile; frames: Buffer[] }> {
    await ensureDirectory(dirname(absolutePath));
    const existed = await stat(absolutePath).then(
      () => true,
      () => false,
    );
    const handle = await open(absolutePath, 'a+', 0o600);
    try {
      const bytes = await handle.readFile();
      const scan = cipher.openFrames(path, bytes);
      if (scan.validLength < bytes.length) {
        await handle.truncate(scan.validLength);
        await handle.sync();
      }
      if (!existed) await syncDirectory(dirname(absolutePath));
      return { file: new OpenHourFile(handle, path, cipher, scan.frames.length), frames: scan.frames };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  append(content: Buffer): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`open hour file ${this.#path} is closed`));
    if (this.#broken !== undefined) return Promise.reject(this.#broken);
    const frame = this.#cipher.sealFrame(this.#path, this.#frames++, content);
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ frame, resolve, reject });
      this.#flushing ??= this.#flush().finally(() => {
        this.#flushing = undefined;
      });
    });
  }

  /** Waits for every accepted append to be durable, then closes the handle. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#flushing) await this.#flushing;
    await this.#handle.close();
  }

  async #flush(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0);
      try {
        if (this.#broken !== undefined) throw this.#broken;
        await this.#handle.appendFile(Buffer.concat(batch.map((p) => p.frame)));
        await this.#handle.datasync();
        for (const p of batch) p.resolve();
      } catch (error) {
        this.#broken ??= error;
        for (const p of batch) p.reject(error);
      }
    }
  }
}
