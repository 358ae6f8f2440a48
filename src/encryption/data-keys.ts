/**
 * Data keys (DEKs): one per table file (and later per backup and stream
 * segment family), wrapped with AES-256-GCM by the table key, the wrap bound to
 * its table, file and purpose.
 */
import { randomBytes } from 'node:crypto';
import { unwrapKey, wrapKey } from './key-wrap.js';

export interface DataKeyScope {
  /** The table's ARN: binds the wrapped key to its table. */
  readonly tableArn: string;
  /** Identifies the file the key protects (table id, backup id, ...). */
  readonly dataKeyId: string;
  /** What the key protects, e.g. `table`, `backup`, `stream`. */
  readonly purpose: string;
}

export function newDataKey(): Buffer {
  return randomBytes(32);
}

const aad = (scope: DataKeyScope): string => `${scope.tableArn}|${scope.dataKeyId}|${scope.purpose}`;

export function wrapDataKey(tableKey: Buffer, dataKey: Buffer, scope: DataKeyScope): Buffer {
  return wrapKey(tableKey, dataKey, aad(scope));
}

/** The caller owns the returned buffer and zeroes it once the file is open. Throws UnwrapError on a wrong key. */
export function unwrapDataKey(tableKey: Buffer, wrapped: Buffer, scope: DataKeyScope): Buffer {
  return unwrapKey(tableKey, wrapped, aad(scope));
}
