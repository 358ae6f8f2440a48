/**
 * The data key of a PITR snapshot file: HKDF-SHA256 of the table file's own data key, salted with
 * the snapshot's id. Nothing is stored for it: whoever can open the table file (its data key
 * unwrapped by the table key, from KMS) can open its snapshots, nobody else; deleting the KMS key
 * shreds them with the table. Each snapshot still has a key of its own.
 */
import { hkdfSync } from 'node:crypto';

const INFO = 'sealdb/pitr-snapshot-key/v1';

export function snapshotKey(tableDataKey: Buffer, fileId: string): Buffer {
  return Buffer.from(hkdfSync('sha256', tableDataKey, Buffer.from(fileId, 'utf8'), INFO, 32));
}
