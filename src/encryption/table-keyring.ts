/**
 * The seam between tables and their keys: every table file's data key (DEK) is
 * wrapped by a keyring. Issue #2 wraps with a key derived from the root of
 * trust; issue #4 replaces this with per-table keys from KMS, here only.
 */
import { randomBytes } from 'node:crypto';
import { unwrapKey, wrapKey } from './key-wrap.js';
import type { RootOfTrust } from './root-of-trust.js';

export interface DataKeyScope {
  /** The table's ARN: binds the wrapped key to its table. */
  readonly tableArn: string;
  /** Identifies the file the key protects (table id, backup id, ...). */
  readonly dataKeyId: string;
  /** What the key protects, e.g. `table`, `backup`, `stream`. */
  readonly purpose: string;
}

export interface TableKeyring {
  wrapDataKey(scope: DataKeyScope, dataKey: Buffer): Promise<Buffer>;
  /** The caller owns the returned buffer and zeroes it once the file is open. */
  unwrapDataKey(scope: DataKeyScope, wrapped: Buffer): Promise<Buffer>;
}

export function newDataKey(): Buffer {
  return randomBytes(32);
}

const aad = (scope: DataKeyScope): string => `${scope.tableArn}|${scope.dataKeyId}|${scope.purpose}`;

export class RootDerivedKeyring implements TableKeyring {
  readonly #kek: Buffer;
  constructor(root: RootOfTrust) {
    this.#kek = root.deriveKey('sealdb/table-data-key-wrap/v1');
  }

  async wrapDataKey(scope: DataKeyScope, dataKey: Buffer): Promise<Buffer> {
    return wrapKey(this.#kek, dataKey, aad(scope));
  }

  async unwrapDataKey(scope: DataKeyScope, wrapped: Buffer): Promise<Buffer> {
    return unwrapKey(this.#kek, wrapped, aad(scope));
  }

  destroy(): void {
    this.#kek.fill(0);
  }
}
