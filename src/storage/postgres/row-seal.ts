/**
 * Encryption above the engine: what a table's rows look like to PostgreSQL. Every row is
 * AES-256-GCM ciphertext under a key derived (HKDF-SHA256) from the table's data key — the same
 * data key the embedded store opens its file with, so the hierarchy is unchanged (KMS key → table
 * key → data key). The engine sees, per row: the table id (a random UUID), the keyspace number, a
 * keyed hash of the partition key (HMAC-SHA256, equality only), a keyed hash of the whole key
 * (equality only), the item's size and the ciphertext. The AAD binds each ciphertext to its table,
 * keyspace and key hashes, so a row copied to another place fails authentication.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Derives a 256-bit subkey of a data key for one purpose. */
export function subkey(dataKey: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', dataKey, Buffer.alloc(0), purpose, 32));
}

/** The plaintext a sealed row carries: its key parts and body (the engine sees none of them). */
export interface OpenedRow {
  readonly hash: number;
  readonly pk: Buffer;
  readonly sk: Buffer;
  readonly tk: Buffer;
  readonly body: Buffer;
}

export class RowSeal {
  readonly #encKey: Buffer;
  readonly #macKey: Buffer;
  readonly #table: Buffer;

  constructor(dataKey: Buffer, tableId: string) {
    this.#encKey = subkey(dataKey, 'sealdb/engine-row-seal/v1');
    this.#macKey = subkey(dataKey, 'sealdb/engine-key-mac/v1');
    this.#table = Buffer.from(tableId, 'utf8');
  }

  /**
   * The partition's keyed hash within a keyspace. Its first 4 bytes (big-endian) are the keyed
   * 32-bit hash Scan segments split, so the engine orders and segments partitions without an
   * unkeyed hash of the key (which a dictionary could invert).
   */
  partition(space: number, pk: Buffer): Buffer {
    return createHmac('sha256', this.#macKey).update(header('p', space)).update(pk).digest();
  }

  /** The keyed hash of a whole key (partition, sort, and for index entries the item's table key). */
  key(space: number, pk: Buffer, sk: Buffer, tk: Buffer): Buffer {
    return createHmac('sha256', this.#macKey)
      .update(header('k', space))
      .update(length(pk.length))
      .update(pk)
      .update(length(sk.length))
      .update(sk)
      .update(tk)
      .digest();
  }

  seal(space: number, pkm: Buffer, km: Buffer, row: OpenedRow): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#encKey, iv);
    cipher.setAAD(this.#aad(space, pkm, km));
    const head = Buffer.allocUnsafe(4 + 2 + 2 + 2);
    head.writeUInt32BE(row.hash >>> 0, 0);
    head.writeUInt16BE(row.pk.length, 4);
    head.writeUInt16BE(row.sk.length, 6);
    head.writeUInt16BE(row.tk.length, 8);
    const parts = [cipher.update(head), cipher.update(row.pk), cipher.update(row.sk), cipher.update(row.tk)];
    parts.push(cipher.update(row.body), cipher.final());
    return Buffer.concat([Buffer.of(VERSION), iv, ...parts, cipher.getAuthTag()]);
  }

  /** Throws when the ciphertext was altered or moved to another table, keyspace or key. */
  open(space: number, pkm: Buffer, km: Buffer, sealed: Buffer): OpenedRow {
    if (sealed[0] !== VERSION || sealed.length < 1 + IV_BYTES + TAG_BYTES + 10) {
      throw new Error('not a sealed row of this version');
    }
    const decipher = createDecipheriv('aes-256-gcm', this.#encKey, sealed.subarray(1, 1 + IV_BYTES));
    decipher.setAAD(this.#aad(space, pkm, km));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const plain = Buffer.concat([
      decipher.update(sealed.subarray(1 + IV_BYTES, sealed.length - TAG_BYTES)),
      decipher.final(),
    ]);
    const pkLength = plain.readUInt16BE(4);
    const skLength = plain.readUInt16BE(6);
    const tkLength = plain.readUInt16BE(8);
    const skAt = 10 + pkLength;
    const tkAt = skAt + skLength;
    const bodyAt = tkAt + tkLength;
    return {
      hash: plain.readUInt32BE(0),
      pk: plain.subarray(10, skAt),
      sk: plain.subarray(skAt, tkAt),
      tk: plain.subarray(tkAt, bodyAt),
      body: plain.subarray(bodyAt),
    };
  }

  #aad(space: number, pkm: Buffer, km: Buffer): Buffer {
    return Buffer.concat([header('r', space), length(this.#table.length), this.#table, pkm, km]);
  }

  /** Zeroes the derived keys (the table was closed or went offline). */
  destroy(): void {
    this.#encKey.fill(0);
    this.#macKey.fill(0);
  }
}

function header(kind: string, space: number): Buffer {
  const out = Buffer.allocUnsafe(5);
  out.write(kind, 0, 'latin1');
  out.writeInt32BE(space, 1);
  return out;
}

function length(n: number): Buffer {
  const out = Buffer.allocUnsafe(2);
  out.writeUInt16BE(n);
  return out;
}

/** A sealed blob under a root-derived key (catalog rows): AES-256-GCM with the given AAD. */
export function sealBlob(key: Buffer, aad: Buffer, plain: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([Buffer.of(VERSION), iv, body, cipher.getAuthTag()]);
}

export function openBlob(key: Buffer, aad: Buffer, sealed: Buffer): Buffer {
  if (sealed[0] !== VERSION) throw new Error('not a sealed blob of this version');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 1 + IV_BYTES));
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  return Buffer.concat([decipher.update(sealed.subarray(1 + IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
}
