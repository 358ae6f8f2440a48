/**
 * Validation of DynamoDB attribute values, items and keys, with DynamoDB's own messages.
 *
 * Values are checked in two passes, as DynamoDB does: the request is first deserialized
 * (wrong JSON types are SerializationExceptions, reported before anything else in the
 * request), then the deserialized values are validated semantically in document order.
 */
import { Buffer } from 'node:buffer';
import type { AwsError } from '../http/aws-error.js';
import { setOwnEntry } from '../validation/own-entry.js';
import type { AttributeValue, Item } from './attribute-value.js';
import { invalidParameter, serializationError, validationError } from './errors.js';
import { normalizeNumber, parseNumber } from './number.js';
import { type AttributeDefinition, type KeyAttribute, type KeySchemaElement, keyAttributes } from './table-schema.js';

export const MAX_ITEM_SIZE = 400 * 1024;
export const MAX_HASH_KEY_SIZE = 2048;
export const MAX_RANGE_KEY_SIZE = 1024;
/** Levels of attribute values, counting a top-level attribute's value as level 1. */
export const MAX_NESTING_DEPTH = 32;

/**
 * DynamoDB's text for too deep documents. PutItem reports it inside the
 * `1 validation error detected: ` envelope (up to about 61 levels; deeper ones come back
 * bare) while BatchWriteItem never uses the envelope, so callers add it where it applies.
 */
export const NESTING_LIMIT_MESSAGE =
  'Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit';

const EMPTY_VALUE = 'Supplied AttributeValue is empty, must contain exactly one of the supported datatypes';
const MULTIPLE_TYPES =
  'Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes';
const KEY_MISMATCH = 'The provided key element does not match the schema';
// DynamoDB Local's EMPTY_ATTRIBUTE_NAME under the invalid-parameter prefix.
const EMPTY_NAME = 'Empty attribute name';

type Member = keyof AttributeValue;
const MEMBERS: ReadonlySet<string> = new Set<Member>(['S', 'N', 'B', 'SS', 'NS', 'BS', 'M', 'L', 'NULL', 'BOOL']);

// ---------------------------------------------------------------------------
// Pass 1: deserialization. Messages are those of DynamoDB's JSON (Coral) layer.

const BIG_NUMBER = 'class com.amazon.coral.value.json.numbers.TruncatingBigNumber';
// Only guards the recursion against absurd inputs; the real depth limit is checked in pass 2
// so that it is reported in document order among the other validation errors.
const MAX_PARSE_DEPTH = 256;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function containerError(v: object): AwsError {
  return serializationError(
    Array.isArray(v) ? 'Start of list found where not expected' : 'Start of structure or map found where not expected.',
  );
}

function readString(v: unknown, article: 'an String' | 'a Blob'): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null) throw containerError(v);
  const cls = typeof v === 'boolean' ? 'class java.lang.Boolean' : BIG_NUMBER;
  throw serializationError(`${cls} can not be converted to ${article}`);
}

function readBlob(v: unknown): string {
  const text = readString(v, 'a Blob');
  const prefix = `'${text}' can not be converted to a Blob: `;
  if (text.length % 4 !== 0) {
    throw serializationError(
      `${prefix}Base64 encoded length is expected a multiple of 4 bytes but found: ${text.length}`,
    );
  }
  const bad = /[^A-Za-z0-9+/=]|=[^=]/.exec(text);
  if (bad) throw serializationError(`${prefix}Invalid Base64 character: '${bad[0][0]}'`);
  // Node decodes leniently; only canonical text survives the round trip. (sic: "dectected")
  if (Buffer.from(text, 'base64').toString('base64') !== text) {
    throw serializationError(`${prefix}Invalid last non-pad Base64 character dectected`);
  }
  return text;
}

function readBoolean(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'object' && v !== null) throw containerError(v);
  if (typeof v === 'string') {
    // Coral accepts these spellings of booleans, case-insensitively.
    const upper = v.toUpperCase();
    if (upper === 'TRUE' || upper === '1' || upper === 'YES') return true;
    if (upper === 'FALSE' || upper === '0' || upper === 'NO') return false;
    throw serializationError(`'${upper}' can not be converted to an Boolean`);
  }
  throw serializationError(`${BIG_NUMBER} can not be converted to an Boolean`);
}

function readList<T>(v: unknown, readElement: (e: unknown) => T): T[] {
  if (Array.isArray(v)) return v.map(readElement);
  if (isRecord(v)) throw containerError(v);
  throw serializationError('Expected list or null');
}

function readMap<T>(v: unknown, readValue: (e: unknown) => T): Record<string, T> {
  if (Array.isArray(v)) throw containerError(v);
  if (!isRecord(v)) throw serializationError('Expected map or null');
  const out: Record<string, T> = {};
  // Keys, not entries: an item of 14k attributes would otherwise allocate 14k pairs per pass.
  for (const name of Object.keys(v)) setOwnEntry(out, name, readValue(v[name]));
  return out;
}

// Null set members survive deserialization; DynamoDB then refuses them like empty ones.
function readSetMember(v: unknown, type: 'SS' | 'NS' | 'BS'): string {
  if (v != null) return type === 'BS' ? readBlob(v) : readString(v, 'an String');
  if (type === 'SS') {
    throw invalidParameter('An string set may not have a empty string as a member');
  }
  if (type === 'BS') throw invalidParameter('Binary sets may not contain null or empty values');
  throw validationError('The parameter cannot be converted to a numeric value');
}

/** Deserializes one AttributeValue; `null` becomes an empty value, refused in pass 2. */
function readAttributeValue(raw: unknown, depth: number): AttributeValue {
  if (raw == null) return {};
  if (Array.isArray(raw)) throw containerError(raw);
  if (!isRecord(raw)) throw serializationError('Expected null');
  if (depth > MAX_PARSE_DEPTH) throw validationError(NESTING_LIMIT_MESSAGE);
  const av: AttributeValue = {};
  // Unknown members are ignored and null members count as absent, as in DynamoDB.
  for (const member of Object.keys(raw)) {
    const v = raw[member];
    if (v == null || !MEMBERS.has(member)) continue;
    switch (member as Member) {
      case 'S':
      case 'N':
        av[member as 'S' | 'N'] = readString(v, 'an String');
        break;
      case 'B':
        av.B = readBlob(v);
        break;
      case 'SS':
      case 'NS':
      case 'BS': {
        const type = member as 'SS' | 'NS' | 'BS';
        av[type] = readList(v, (e) => readSetMember(e, type));
        break;
      }
      case 'M':
        av.M = readMap(v, (e) => readAttributeValue(e, depth + 1));
        break;
      case 'L':
        av.L = readList(v, (e) => readAttributeValue(e, depth + 1));
        break;
      case 'NULL':
      case 'BOOL':
        av[member as 'NULL' | 'BOOL'] = readBoolean(v);
        break;
    }
  }
  return av;
}

// ---------------------------------------------------------------------------
// Pass 2: semantic validation, returning normalized copies.

function findDuplicate(values: readonly string[]): boolean {
  return new Set(values).size !== values.length;
}

/**
 * Validates a value pass 1 built (a fresh object, as are its lists and maps) and normalizes it in
 * place: copying every value again doubled the work for large items.
 */
function checkValue(av: AttributeValue, level: number): AttributeValue {
  const types = Object.keys(av) as Member[];
  if (types.length === 0) throw validationError(EMPTY_VALUE);
  // DynamoDB validates each member it was given before objecting to there being several.
  for (const type of types) checkMember(av, type, level);
  if (types.length > 1) throw validationError(MULTIPLE_TYPES);
  return av;
}

function checkMember(av: AttributeValue, type: Member, level: number): void {
  switch (type) {
    case 'S':
    case 'B':
    case 'BOOL':
      return;
    case 'N':
      av.N = normalizeNumber(av.N as string);
      return;
    case 'NULL':
      if (av.NULL !== true) {
        throw invalidParameter('Null attribute value types must have the value of true');
      }
      return;
    case 'SS':
      checkStringSet(av.SS as string[]);
      return;
    case 'NS':
      av.NS = checkNumberSet(av.NS as string[]);
      return;
    case 'BS':
      checkBinarySet(av.BS as string[]);
      return;
    case 'M': {
      const map = av.M as Item;
      for (const name of Object.keys(map)) checkChild(map[name] as AttributeValue, level);
      return;
    }
    case 'L':
      for (const child of av.L as AttributeValue[]) checkChild(child, level);
      return;
  }
}

function checkChild(child: AttributeValue, parentLevel: number): AttributeValue {
  if (parentLevel + 1 > MAX_NESTING_DEPTH) throw validationError(NESTING_LIMIT_MESSAGE);
  return checkValue(child, parentLevel + 1);
}

// The double space and "An string/number" are DynamoDB's; binary sets word it differently.
function checkStringSet(values: string[]): void {
  if (values.length === 0) throw invalidParameter('An string set  may not be empty');
  if (findDuplicate(values)) {
    throw invalidParameter(`Input collection [${values.join(', ')}] contains duplicates.`);
  }
}

function checkNumberSet(values: string[]): string[] {
  if (values.length === 0) throw invalidParameter('An number set  may not be empty');
  const normalized = values.map(normalizeNumber);
  // Compared after normalization: "1" and "1.0" are the same member.
  if (findDuplicate(normalized)) throw validationError('Input collection contains duplicates');
  return normalized;
}

function checkBinarySet(values: string[]): void {
  if (values.length === 0) throw invalidParameter('Binary sets should not be empty');
  // Pass 1 only lets canonical base64 through, so equal text means equal bytes.
  if (findDuplicate(values)) {
    throw invalidParameter(`Input collection [${values.join(', ')}]of type BS contains duplicates.`);
  }
}

// ---------------------------------------------------------------------------
// Public API

/** Validates one AttributeValue, returning a normalized copy (canonical numbers). */
export function validateAttributeValue(value: unknown): AttributeValue {
  return checkValue(readAttributeValue(value, 1), 1);
}

/**
 * Validates a map of attribute names to values (an item, a key, ExpressionAttributeValues),
 * deserializing all of it before validating any of it. `null` is taken as an empty map.
 */
export function validateAttributeMap(map: unknown): Item {
  const raw = map == null ? {} : readMap(map, (v) => readAttributeValue(v, 1));
  // Pass 2 normalizes pass 1's fresh values in place.
  for (const name of Object.keys(raw)) {
    if (name === '') throw invalidParameter(EMPTY_NAME);
    checkValue(raw[name] as AttributeValue, 1);
  }
  return raw;
}

/** The 32-level limit on an item that was not read from a request (the result of an update). */
export function validateItemNesting(item: Item): void {
  for (const value of Object.values(item)) checkDepth(value, 1);
}

function checkDepth(value: AttributeValue, level: number): void {
  const children = value.M ? Object.values(value.M) : value.L;
  if (!children) return;
  if (children.length > 0 && level + 1 > MAX_NESTING_DEPTH) throw validationError(NESTING_LIMIT_MESSAGE);
  for (const child of children) checkDepth(child, level + 1);
}

/** The single type an already-validated value holds. */
export function attributeType(value: AttributeValue): keyof AttributeValue {
  return Object.keys(value)[0] as Member;
}

/** UTF-8 bytes of a string; short ASCII ones (most attribute names and values) without a native call. */
function utf8Length(s: string): number {
  if (s.length > 32) return Buffer.byteLength(s, 'utf8');
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s, 'utf8');
  return s.length;
}

/**
 * Bytes a Number occupies: DynamoDB stores numbers base-100, one byte per pair of digits
 * aligned on the decimal point, plus an exponent byte and, for negatives, a terminator.
 */
function numberSize(text: string): number {
  const n = parseNumber(text);
  if (n.sign === 0) return 1;
  const count = n.digits.length;
  // Exponent of the d.ddd×10^e form; an even one puts the first digit in a pair of its own.
  const e = n.exponent - 1;
  const pairs = Math.ceil(count / 2) + (count % 2 === 0 && e % 2 === 0 ? 1 : 0);
  return 1 + pairs + (n.sign < 0 ? 1 : 0);
}

/** DynamoDB's size of one attribute value (without its name). */
export function attributeValueSize(value: AttributeValue): number {
  if (value.S !== undefined) return utf8Length(value.S);
  if (value.B !== undefined) return Buffer.byteLength(value.B, 'base64');
  if (value.N !== undefined) return numberSize(value.N);
  if (value.SS) return value.SS.reduce((sum, s) => sum + utf8Length(s), 0);
  if (value.NS) return value.NS.reduce((sum, n) => sum + numberSize(n), 0);
  if (value.BS) return value.BS.reduce((sum, b) => sum + Buffer.byteLength(b, 'base64'), 0);
  // Documents: 3 bytes of overhead plus 1 per element.
  if (value.M) {
    let sum = 3;
    for (const name of Object.keys(value.M))
      sum += 1 + utf8Length(name) + attributeValueSize(value.M[name] as AttributeValue);
    return sum;
  }
  if (value.L) return value.L.reduce((sum, v) => sum + 1 + attributeValueSize(v), 3);
  return 1; // BOOL, NULL
}

/** DynamoDB's item size: attribute names (UTF-8) plus value sizes. */
export function itemSize(item: Item): number {
  let size = 0;
  for (const name of Object.keys(item)) size += utf8Length(name) + attributeValueSize(item[name] as AttributeValue);
  return size;
}

export function validateItemSize(item: Item): void {
  if (itemSize(item) > MAX_ITEM_SIZE) {
    throw validationError('Item size has exceeded the maximum allowed size');
  }
}

function checkKeyValue(value: AttributeValue, attr: KeyAttribute, isHash: boolean): void {
  const text = attr.type === 'S' ? value.S : attr.type === 'B' ? value.B : undefined;
  if (text === undefined) return; // numbers have no emptiness or size limit of their own
  if (text === '') {
    const kind = attr.type === 'S' ? 'string' : 'binary';
    throw validationError(
      `One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty ${kind} value. Key: ${attr.name}`,
    );
  }
  const size = attr.type === 'S' ? utf8Length(text) : Buffer.byteLength(text, 'base64');
  if (isHash && size > MAX_HASH_KEY_SIZE) {
    throw invalidParameter('Size of hashkey has exceeded the maximum size limit of2048 bytes');
  }
  if (!isHash && size > MAX_RANGE_KEY_SIZE) {
    throw invalidParameter('Aggregated size of all range keys has exceeded the size limit of 1024 bytes');
  }
}

function keyParts(
  keySchema: readonly KeySchemaElement[],
  attributeDefinitions: readonly AttributeDefinition[],
): Array<[KeyAttribute, boolean]> {
  const { hash, range } = keyAttributes(keySchema, attributeDefinitions);
  return range
    ? [
        [hash, true],
        [range, false],
      ]
    : [[hash, true]];
}

/**
 * Validates a PutItem item: every value, then the item size (which DynamoDB checks before
 * it looks at the table), then the key attributes.
 */
export function validateItem(
  item: unknown,
  keySchema: readonly KeySchemaElement[],
  attributeDefinitions: readonly AttributeDefinition[],
): Item {
  const out = validateAttributeMap(item);
  validateItemSize(out);
  return checkItemKey(out, keySchema, attributeDefinitions);
}

/** The part of validateItem that needs the table: an item already validated against its key schema. */
export function checkItemKey(
  out: Item,
  keySchema: readonly KeySchemaElement[],
  attributeDefinitions: readonly AttributeDefinition[],
): Item {
  for (const [attr, isHash] of keyParts(keySchema, attributeDefinitions)) {
    const value = Object.hasOwn(out, attr.name) ? out[attr.name] : undefined;
    if (!value) throw invalidParameter(`Missing the key ${attr.name} in the item`);
    const actual = attributeType(value);
    if (actual !== attr.type) {
      throw invalidParameter(`Type mismatch for key ${attr.name} expected: ${attr.type} actual: ${actual}`);
    }
    checkKeyValue(value, attr, isHash);
  }
  return out;
}

/** Validates a primary key (GetItem, DeleteItem, UpdateItem, BatchGetItem keys). */
export function validateKey(
  key: unknown,
  keySchema: readonly KeySchemaElement[],
  attributeDefinitions: readonly AttributeDefinition[],
): Item {
  return checkKey(validateAttributeMap(key), keySchema, attributeDefinitions);
}

/** The part of validateKey that needs the table: a key already validated against its key schema. */
export function checkKey(
  out: Item,
  keySchema: readonly KeySchemaElement[],
  attributeDefinitions: readonly AttributeDefinition[],
): Item {
  const parts = keyParts(keySchema, attributeDefinitions);
  if (Object.keys(out).length !== parts.length) throw validationError(KEY_MISMATCH);
  for (const [attr, isHash] of parts) {
    const value = Object.hasOwn(out, attr.name) ? out[attr.name] : undefined;
    if (!value || attributeType(value) !== attr.type) throw validationError(KEY_MISMATCH);
    checkKeyValue(value, attr, isHash);
  }
  return out;
}
