/** Where each encrypted file lives inside the data directory; `undefined` = in memory. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export class DataDir {
  constructor(readonly root: string | undefined) {}

  get inMemory(): boolean {
    return this.root === undefined;
  }

  /** Path of a file under the data directory, creating its folder; ':memory:' in memory mode. */
  file(...parts: string[]): string {
    if (this.root === undefined) return ':memory:';
    const folder = join(this.root, ...parts.slice(0, -1));
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    return join(folder, parts[parts.length - 1] as string);
  }
}
