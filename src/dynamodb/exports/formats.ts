/**
 * The item formats of DynamoDB's export to and import from S3, one item per line.
 *
 * - DYNAMODB_JSON: `{"Item":{…}}` in DynamoDB's marshalled JSON (B and BS as base64).
 * - ION (text): `$ion_1_0 {Item:{…}}`; strings as Ion strings, numbers as decimals, binary as
 *   blobs, sets as lists annotated `$dynamodb_SS` / `$dynamodb_NS` / `$dynamodb_BS`, L as lists,
 *   M as structs, NULL as `null`. Numbers are written as AWS writes them: the coefficient without
 *   trailing zeros and the exponent in d-notation (`103.`, `6d2`, `2d3`).
 *   Source: the DynamoDB developer guide, "DynamoDB table export output format"
 *   (S3DataExport.Output: the Ion datatype table and the example item).
 * - CSV (import only): a header line (or CsvOptions.HeaderList), then one item per line; key
 *   attributes take the type of their AttributeDefinition, every other column is a String, and an
 *   empty field adds no attribute ([I]: sealdb's reading where the guide names no rule).
 */
import * as ion from 'ion-js';
import type { AttributeValue, Item } from '../attribute-value.js';
import { decodeKeyValue } from '../key-codec.js';
import { parseNumber } from '../number.js';
import type { KeyAttributes } from '../table-schema.js';

export type ExportFormat = 'DYNAMODB_JSON' | 'ION';
export type InputFormat = ExportFormat | 'CSV';

// ---------------------------------------------------------------------------
// Writing

/** One exported line (with its newline). The stored body is already DynamoDB JSON. */
export function dynamoDbJsonLine(body: string): string {
  return `{"Item":${body}}\n`;
}

export function ionLine(item: Item): string {
  return `$ion_1_0 {Item:${ionStruct(item)}}\n`;
}

/**
 * One changed item of an incremental export. Its DynamoDB JSON line is
 * `{"Metadata":{"WriteTimestampMicros":{"N":"…"}},"Keys":{…},"NewImage":{…},"OldImage":{…}}`:
 * NewImage absent for a deleted item, OldImage only in the NEW_AND_OLD_IMAGES view and only
 * for an item that existed before the window (Developer Guide, S3DataExport.Output,
 * "Incremental export output"). WriteTimestampMicros is itself a DynamoDB JSON number, as
 * readers of AWS's incremental exports parse it (`Metadata.WriteTimestampMicros.N`, e.g. the
 * AWS Glue table schemas and parsers written against real exports).
 */
export interface IncrementalLine {
  readonly micros: number;
  readonly keys: Item;
  /** The stored body (DynamoDB JSON) of the item after the window; absent: deleted. */
  readonly newImage?: string;
  /** The stored body of the item before the window. */
  readonly oldImage?: string;
}

export function incrementalJsonLine(line: IncrementalLine): string {
  let out = `{"Metadata":{"WriteTimestampMicros":{"N":"${line.micros}"}},"Keys":${JSON.stringify(line.keys)}`;
  if (line.newImage !== undefined) out += `,"NewImage":${line.newImage}`;
  if (line.oldImage !== undefined) out += `,"OldImage":${line.oldImage}`;
  return `${out}}\n`;
}

/** [I] The same fields in Ion text, as a full export's Ion line carries its Item. */
export function ionIncrementalLine(line: IncrementalLine): string {
  let out = `$ion_1_0 {Metadata:{WriteTimestampMicros:${line.micros}.},Keys:${ionStruct(line.keys)}`;
  if (line.newImage !== undefined) out += `,NewImage:${ionStruct(JSON.parse(line.newImage) as Item)}`;
  if (line.oldImage !== undefined) out += `,OldImage:${ionStruct(JSON.parse(line.oldImage) as Item)}`;
  return `${out}}\n`;
}

/** An item's key attributes from its stored key (a deleted item has no body to take them from). */
export function incrementalKeys(key: { readonly pk: Uint8Array; readonly sk: Uint8Array }, keys: KeyAttributes): Item {
  const out: Item = { [keys.hash.name]: decodeKeyValue(keys.hash.type, key.pk) };
  if (keys.range) out[keys.range.name] = decodeKeyValue(keys.range.type, key.sk);
  return out;
}

const ION_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ION_KEYWORDS = new Set(['null', 'true', 'false', 'nan']);

function ionFieldName(name: string): string {
  // Bare where Ion allows it (as AWS's example shows), a quoted symbol otherwise.
  if (ION_IDENTIFIER.test(name) && !ION_KEYWORDS.has(name)) return name;
  return `'${ionEscape(name, "'")}'`;
}

function ionEscape(text: string, quote: '"' | "'"): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0) as number;
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out;
}

const ionString = (s: string): string => `"${ionEscape(s, '"')}"`;

/** A DynamoDB number as an Ion decimal, in the form AWS's exports use. */
export function ionDecimal(n: string): string {
  const parsed = parseNumber(n);
  if (parsed.sign === 0) return '0.';
  const exponent = parsed.exponent - parsed.digits.length;
  const sign = parsed.sign < 0 ? '-' : '';
  return exponent === 0 ? `${sign}${parsed.digits}.` : `${sign}${parsed.digits}d${exponent}`;
}

const ionBlob = (b: string): string => `{{${b}}}`;

function ionStruct(map: Record<string, AttributeValue>): string {
  return `{${Object.entries(map)
    .map(([k, v]) => `${ionFieldName(k)}:${ionValue(v)}`)
    .join(',')}}`;
}

function ionValue(v: AttributeValue): string {
  if (v.S !== undefined) return ionString(v.S);
  if (v.N !== undefined) return ionDecimal(v.N);
  if (v.B !== undefined) return ionBlob(v.B);
  if (v.BOOL !== undefined) return v.BOOL ? 'true' : 'false';
  if (v.NULL !== undefined) return 'null';
  if (v.SS) return `$dynamodb_SS::[${v.SS.map(ionString).join(',')}]`;
  if (v.NS) return `$dynamodb_NS::[${v.NS.map(ionDecimal).join(',')}]`;
  if (v.BS) return `$dynamodb_BS::[${v.BS.map(ionBlob).join(',')}]`;
  if (v.L) return `[${v.L.map(ionValue).join(',')}]`;
  if (v.M) return ionStruct(v.M);
  throw new Error('attribute value of no known type');
}

// ---------------------------------------------------------------------------
// Reading

/** A line (or Ion value) that cannot be made into an item: one import error. */
export class ItemFormatError extends Error {}

/** One DYNAMODB_JSON line: `{"Item": {...}}` (the item is validated by the importer). */
export function parseDynamoDbJsonLine(line: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    throw new ItemFormatError(`Unexpected token in DynamoDB JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !Object.hasOwn(parsed, 'Item')) {
    throw new ItemFormatError('The DynamoDB JSON object has no top-level "Item" member');
  }
  return (parsed as { Item: unknown }).Item;
}

/**
 * The items of an Ion text or binary document: each top-level value must be a struct with an
 * `Item` struct. Yields the items one by one; a value that is not one throws ItemFormatError.
 */
export function* ionItems(data: string | Uint8Array): Generator<Item> {
  let reader: ion.Reader;
  try {
    reader = ion.makeReader(data);
  } catch (error) {
    throw new ItemFormatError(`Not an Ion document: ${(error as Error).message}`);
  }
  for (;;) {
    let type: ion.IonType | null;
    try {
      type = reader.next();
    } catch (error) {
      throw new ItemFormatError(`Malformed Ion: ${(error as Error).message}`);
    }
    if (type === null) return;
    try {
      if (type !== ion.IonTypes.STRUCT || reader.isNull()) throw new ItemFormatError('An Ion value is not a struct');
      let item: Item | undefined;
      reader.stepIn();
      for (let t = reader.next(); t !== null; t = reader.next()) {
        if (reader.fieldName() !== 'Item') continue;
        if (t !== ion.IonTypes.STRUCT || reader.isNull()) throw new ItemFormatError('Item is not an Ion struct');
        item = readIonStruct(reader, 1);
      }
      reader.stepOut();
      if (!item) throw new ItemFormatError('The Ion struct has no "Item" field');
      yield item;
    } catch (error) {
      if (error instanceof ItemFormatError) throw error;
      throw new ItemFormatError(`Malformed Ion: ${(error as Error).message}`);
    }
  }
}

const MAX_ION_DEPTH = 33;

function readIonStruct(reader: ion.Reader, depth: number): Record<string, AttributeValue> {
  if (depth > MAX_ION_DEPTH) throw new ItemFormatError('Ion value nested too deeply');
  const out: Record<string, AttributeValue> = {};
  reader.stepIn();
  for (let t = reader.next(); t !== null; t = reader.next()) {
    const name = reader.fieldName() as string;
    Object.defineProperty(out, name, {
      value: readIonValue(reader, t, depth),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  reader.stepOut();
  return out;
}

function readIonValue(reader: ion.Reader, type: ion.IonType, depth: number): AttributeValue {
  if (reader.isNull()) return { NULL: true };
  const annotations = reader.annotations();
  switch (type) {
    case ion.IonTypes.STRING:
    case ion.IonTypes.SYMBOL:
      return { S: reader.stringValue() as string };
    case ion.IonTypes.BOOL:
      return { BOOL: reader.booleanValue() as boolean };
    case ion.IonTypes.INT:
      return { N: String(reader.bigIntValue()) };
    case ion.IonTypes.DECIMAL: {
      const d = reader.decimalValue() as ion.Decimal;
      const sign = d.isNegative() ? '-' : '';
      const coefficient = d.getCoefficient();
      const magnitude = coefficient < 0n ? -coefficient : coefficient;
      return { N: `${sign}${magnitude}E${d.getExponent()}` };
    }
    case ion.IonTypes.FLOAT: {
      const f = reader.numberValue() as number;
      if (!Number.isFinite(f)) throw new ItemFormatError('An Ion float is not a finite number');
      return { N: String(f) };
    }
    case ion.IonTypes.BLOB:
    case ion.IonTypes.CLOB:
      return { B: Buffer.from(reader.uInt8ArrayValue() as Uint8Array).toString('base64') };
    case ion.IonTypes.TIMESTAMP:
      return { S: String(reader.timestampValue()) };
    case ion.IonTypes.STRUCT:
      return { M: readIonStruct(reader, depth + 1) };
    case ion.IonTypes.LIST:
    case ion.IonTypes.SEXP: {
      const set = annotations.find((a) => /^\$dynamodb_(SS|NS|BS)$/.test(a));
      const values: AttributeValue[] = [];
      if (depth + 1 > MAX_ION_DEPTH) throw new ItemFormatError('Ion value nested too deeply');
      reader.stepIn();
      for (let t = reader.next(); t !== null; t = reader.next()) values.push(readIonValue(reader, t, depth + 1));
      reader.stepOut();
      if (!set) return { L: values };
      const kind = set.slice('$dynamodb_'.length) as 'SS' | 'NS' | 'BS';
      const member = kind === 'SS' ? 'S' : kind === 'NS' ? 'N' : 'B';
      const members = values.map((v) => {
        const m = v[member];
        if (typeof m !== 'string') throw new ItemFormatError(`A ${set} list holds a value of another type`);
        return m;
      });
      return { [kind]: members } as AttributeValue;
    }
    default:
      throw new ItemFormatError(`Ion type ${type.name} has no DynamoDB type`);
  }
}

// ---------------------------------------------------------------------------
// CSV

export interface CsvSettings {
  readonly delimiter: string;
  /** When given, every line is data; otherwise each file's first line is its header. */
  readonly headerList?: readonly string[];
  /** The key attributes' types, from TableCreationParameters.AttributeDefinitions. */
  readonly keyTypes: ReadonlyMap<string, 'S' | 'N' | 'B'>;
}

/**
 * Splits CSV text into records (RFC 4180: quoted fields may hold the delimiter, quotes doubled
 * and newlines). Yields each record with the byte length it took.
 */
export function* csvRecords(text: string, delimiter: string): Generator<string[]> {
  let field = '';
  let record: string[] = [];
  let quoted = false;
  let fieldStarted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
      continue;
    }
    if (ch === '"' && !fieldStarted) {
      quoted = true;
      fieldStarted = true;
    } else if (ch === delimiter) {
      record.push(field);
      field = '';
      fieldStarted = false;
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      if (!(record.length === 1 && record[0] === '')) yield record;
      record = [];
      field = '';
      fieldStarted = false;
    } else {
      field += ch;
      fieldStarted = true;
    }
  }
  if (quoted) throw new ItemFormatError('A quoted CSV field is not closed');
  if (fieldStarted || record.length > 0) {
    record.push(field);
    yield record;
  }
}

/** One CSV record as an item under the header. */
export function csvItem(header: readonly string[], record: readonly string[], settings: CsvSettings): Item {
  if (record.length > header.length) {
    throw new ItemFormatError(`The CSV line has ${record.length} fields, the header ${header.length}`);
  }
  const item: Item = {};
  header.forEach((name, i) => {
    const text = record[i];
    if (text === undefined || text === '') return;
    const type = settings.keyTypes.get(name) ?? 'S';
    const value: AttributeValue = type === 'B' ? { B: text } : type === 'N' ? { N: text } : { S: text };
    Object.defineProperty(item, name, { value, enumerable: true, writable: true, configurable: true });
  });
  return item;
}
