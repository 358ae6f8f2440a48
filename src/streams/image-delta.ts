/**
 * Stream records of format 1, as sealdb stored them before the compact format 2 (record-codec.ts,
 * which writes every new record): still read, so records written before an upgrade stay readable
 * until they expire; packRecord is kept for the tests that make such records.
 *
 * A NEW_AND_OLD_IMAGES record of a MODIFY holds the item twice, and the two images mostly agree
 * (an update changes a few attributes; a replacing PutItem usually keeps the attribute order), so
 * the stored record keeps of the OldImage only what differs from the NewImage: their common prefix
 * and suffix are stored as lengths. Finding them is two byte comparisons, rebuilding the record one
 * concatenation, and every byte not stored is a byte not encrypted, logged and checkpointed
 * (appended record bytes are most of what a stream costs a write).
 *
 * Stored form: 0x01, six u32 (big-endian: where the NewImage starts in the head, its length, the
 * head's length, the shared prefix, the shared suffix, the OldImage's own middle's length), the
 * head (the record up to the OldImage), that middle, and the rest of the record. A record stored
 * whole starts with `{`.
 */
const PACKED = 0x01;
const HEADER = 1 + 6 * 4;

/** `head` ends where the OldImage begins and holds the NewImage at `newAt`; `tail` follows the OldImage. */
export function packRecord(head: Buffer, newAt: number, newLength: number, old: Buffer, tail: Buffer): Buffer {
  const limit = Math.min(newLength, old.length);
  let prefix = 0;
  while (prefix < limit && head[newAt + prefix] === old[prefix]) prefix++;
  let suffix = 0;
  while (suffix < limit - prefix && head[newAt + newLength - 1 - suffix] === old[old.length - 1 - suffix]) suffix++;
  const middle = old.subarray(prefix, old.length - suffix);
  const header = Buffer.allocUnsafe(HEADER);
  header[0] = PACKED;
  header.writeUInt32BE(newAt, 1);
  header.writeUInt32BE(newLength, 5);
  header.writeUInt32BE(head.length, 9);
  header.writeUInt32BE(prefix, 13);
  header.writeUInt32BE(suffix, 17);
  header.writeUInt32BE(middle.length, 21);
  return Buffer.concat([header, head, middle, tail]);
}

/** The record as GetRecords sends it. */
export function unpackRecord(stored: Buffer): Buffer {
  if (stored[0] !== PACKED) return stored;
  const newAt = stored.readUInt32BE(1);
  const newLength = stored.readUInt32BE(5);
  const headEnd = HEADER + stored.readUInt32BE(9);
  const prefix = stored.readUInt32BE(13);
  const suffix = stored.readUInt32BE(17);
  const middleEnd = headEnd + stored.readUInt32BE(21);
  const image = stored.subarray(HEADER + newAt, HEADER + newAt + newLength);
  return Buffer.concat([
    stored.subarray(HEADER, headEnd),
    image.subarray(0, prefix),
    stored.subarray(headEnd, middleEnd),
    image.subarray(newLength - suffix),
    stored.subarray(middleEnd),
  ]);
}
