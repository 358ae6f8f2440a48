/**
 * Order-preserving bytes for key attribute values: comparing two encodings of the same
 * type with memcmp (SQLite's BLOB order, shorter prefix first) gives DynamoDB's order.
 * S sorts by UTF-8 bytes and B bytewise, so both are stored raw. N needs an encoding of
 * its own because neither its text nor a float orders (or round-trips) correctly.
 */
import { Buffer } from 'node:buffer';
import { hash } from 'node:crypto';
import type { AttributeValue, ScalarKeyType } from './attribute-value.js';
import { formatNumber, MIN_EXPONENT, type ParsedNumber, parseNumber } from './number.js';

// Sign tags order negatives < zero < positives.
const NEGATIVE = 0x01;
const ZERO = 0x02;
const POSITIVE = 0x03;
// Larger than every inverted digit (0..9), so a negative whose digits are a prefix of
// another's (smaller magnitude, hence larger value) sorts after it.
const NEGATIVE_END = 0x0a;
// Maps exponents MIN_EXPONENT..MAX_EXPONENT onto one byte, 0..255.
const EXPONENT_BIAS = -MIN_EXPONENT;

/** Encodes an already-validated key value of the given type. */
export function encodeKeyValue(type: ScalarKeyType, value: AttributeValue): Buffer {
  switch (type) {
    case 'S':
      return Buffer.from(requireMember(value.S, type), 'utf8');
    case 'B':
      return Buffer.from(requireMember(value.B, type), 'base64');
    case 'N':
      return encodeNumber(parseNumber(requireMember(value.N, type)));
  }
}

/** Inverse of encodeKeyValue; numbers come back in DynamoDB's canonical form. */
export function decodeKeyValue(type: ScalarKeyType, bytes: Uint8Array): AttributeValue {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (type) {
    case 'S':
      return { S: buf.toString('utf8') };
    case 'B':
      return { B: buf.toString('base64') };
    case 'N':
      return { N: formatNumber(decodeNumber(buf)) };
  }
}

/**
 * A stable unsigned 32-bit hash of an encoded partition key. Scan walks partitions in
 * this order and Segment/TotalSegments split its range, as DynamoDB scans by hash.
 */
export function hashPartition(encodedHashKey: Uint8Array): number {
  // The one-shot digest is about twice as fast as createHash on every keyed request.
  return Number.parseInt(hash('sha256', encodedHashKey, 'hex').slice(0, 8), 16);
}

function requireMember(member: string | undefined, type: ScalarKeyType): string {
  if (member === undefined) throw new TypeError(`key value is not of type ${type}`);
  return member;
}

export function encodeNumber(n: ParsedNumber): Buffer {
  if (n.sign === 0) return Buffer.from([ZERO]);
  const exponentByte = n.exponent + EXPONENT_BIAS;
  const len = n.digits.length;
  if (n.sign > 0) {
    const out = Buffer.allocUnsafe(2 + len);
    out[0] = POSITIVE;
    out[1] = exponentByte;
    for (let i = 0; i < len; i++) out[2 + i] = n.digits.charCodeAt(i) - 0x30;
    return out;
  }
  // Negatives invert everything so that larger magnitudes sort first.
  const out = Buffer.allocUnsafe(3 + len);
  out[0] = NEGATIVE;
  out[1] = 0xff - exponentByte;
  for (let i = 0; i < len; i++) out[2 + i] = 9 - (n.digits.charCodeAt(i) - 0x30);
  out[2 + len] = NEGATIVE_END;
  return out;
}

export function decodeNumber(buf: Uint8Array): ParsedNumber {
  const tag = buf[0];
  if (tag === ZERO && buf.length === 1) return { sign: 0, digits: '', exponent: 0 };
  if (tag === POSITIVE && buf.length >= 3) {
    let digits = '';
    for (let i = 2; i < buf.length; i++) digits += digitChar(buf[i]);
    return { sign: 1, digits, exponent: buf[1] - EXPONENT_BIAS };
  }
  if (tag === NEGATIVE && buf.length >= 4 && buf[buf.length - 1] === NEGATIVE_END) {
    let digits = '';
    for (let i = 2; i < buf.length - 1; i++) digits += digitChar(9 - buf[i]);
    return { sign: -1, digits, exponent: 0xff - buf[1] - EXPONENT_BIAS };
  }
  throw new Error('corrupt number key encoding');
}

function digitChar(d: number): string {
  if (!(d >= 0 && d <= 9)) throw new Error('corrupt number key encoding');
  return String.fromCharCode(0x30 + d);
}
