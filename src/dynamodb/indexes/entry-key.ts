/**
 * Where an item's entry sits in an index's keyspace. A one-attribute index key is stored as the
 * same order-preserving bytes as a table key, so index Query ranges are built exactly as table
 * ones. A multi-attribute key (GSIs: up to 4 partition and 4 sort attributes) is a tuple whose
 * components are escaped and terminated, so memcmp orders it attribute by attribute and a prefix
 * of its components selects a contiguous range.
 */
import type { AttributeValue, Item } from '../attribute-value.js';
import type { StoredKey } from '../item-codec.js';
import { encodeKeyValue, hashPartition } from '../key-codec.js';
import type { KeyAttribute } from '../table-schema.js';
import type { IndexSchema } from './schema.js';

const ESCAPE = 0xff;
/** After a component: below every escaped byte that can follow a 0x00, so shorter components sort first. */
const TERMINATOR = Buffer.from([0x00, 0x01]);

/** One tuple component: each 0x00 byte becomes 0x00 0xff, then the terminator. */
export function tupleComponent(bytes: Buffer): Buffer {
  let zeros = 0;
  for (const byte of bytes) if (byte === 0) zeros++;
  const out = Buffer.allocUnsafe(bytes.length + zeros + TERMINATOR.length);
  let at = 0;
  for (const byte of bytes) {
    out[at++] = byte;
    if (byte === 0) out[at++] = ESCAPE;
  }
  TERMINATOR.copy(out, at);
  return out;
}

/** The component bytes of a multi-attribute key, escaped but without the terminator (for begins_with). */
export function tupleComponentPrefix(bytes: Buffer): Buffer {
  const full = tupleComponent(bytes);
  return full.subarray(0, full.length - TERMINATOR.length);
}

/** Encodes index key values (already type-checked) as stored: raw for one attribute, a tuple for several. */
export function encodeIndexKey(attributes: readonly KeyAttribute[], values: readonly AttributeValue[]): Buffer {
  if (attributes.length === 0) return Buffer.alloc(0);
  if (attributes.length === 1) return encodeKeyValue((attributes[0] as KeyAttribute).type, values[0] as AttributeValue);
  return Buffer.concat(attributes.map((a, i) => tupleComponent(encodeKeyValue(a.type, values[i] as AttributeValue))));
}

/** The item's table key, which tells apart entries sharing an index key: pk length (2 bytes), pk, sk. */
export function tableKeyBytes(key: StoredKey): Buffer {
  const out = Buffer.allocUnsafe(2 + key.pk.length + key.sk.length);
  out.writeUInt16BE(key.pk.length, 0);
  key.pk.copy(out, 2);
  key.sk.copy(out, 2 + key.pk.length);
  return out;
}

export function tableKeyOf(tk: Buffer): { pk: Buffer; sk: Buffer } {
  const length = tk.readUInt16BE(0);
  return { pk: tk.subarray(2, 2 + length), sk: tk.subarray(2 + length) };
}

/** The entry key of an item in an index; undefined when it lacks a key attribute (a sparse index). */
export function indexEntryKey(
  index: IndexSchema,
  item: Item,
  tableKey: StoredKey,
): { space: number; hash: number; pk: Buffer; sk: Buffer; tk: Buffer } | undefined {
  const hashValues: AttributeValue[] = [];
  for (const a of index.hash) {
    const value = item[a.name];
    if (value?.[a.type] === undefined) return undefined;
    hashValues.push(value);
  }
  const rangeValues: AttributeValue[] = [];
  for (const a of index.range) {
    const value = item[a.name];
    if (value?.[a.type] === undefined) return undefined;
    rangeValues.push(value);
  }
  const pk = encodeIndexKey(index.hash, hashValues);
  return {
    space: index.space,
    hash: hashPartition(pk),
    pk,
    sk: encodeIndexKey(index.range, rangeValues),
    tk: tableKeyBytes(tableKey),
  };
}
