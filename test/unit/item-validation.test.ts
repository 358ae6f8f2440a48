import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, it } from 'node:test';
import type { AttributeValue, Item } from '../../src/dynamodb/attribute-value.js';
import {
  attributeValueSize,
  itemSize,
  MAX_ITEM_SIZE,
  NESTING_LIMIT_MESSAGE,
  validateAttributeMap,
  validateAttributeValue,
  validateItem,
  validateItemSize,
  validateKey,
} from '../../src/dynamodb/item-validation.js';
import type { AttributeDefinition, KeySchemaElement } from '../../src/dynamodb/table-schema.js';
import { keyAttributes } from '../../src/dynamodb/table-schema.js';
import { AwsError } from '../../src/http/aws-error.js';

function assertError(fn: () => unknown, code: string, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof AwsError, `not an AwsError: ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.message, message);
    return true;
  });
}
const assertValidation = (fn: () => unknown, message: string) => assertError(fn, 'ValidationException', message);
const assertSerialization = (fn: () => unknown, message: string) => assertError(fn, 'SerializationException', message);
const invalid = (detail: string) => `One or more parameter values were invalid: ${detail}`;

const hashOnly: KeySchemaElement[] = [{ AttributeName: 'a', KeyType: 'HASH' }];
const hashOnlyDefs: AttributeDefinition[] = [{ AttributeName: 'a', AttributeType: 'S' }];
// RANGE listed first on purpose: order in KeySchema must not matter.
const composite: KeySchemaElement[] = [
  { AttributeName: 'r', KeyType: 'RANGE' },
  { AttributeName: 'h', KeyType: 'HASH' },
];
const compositeDefs: AttributeDefinition[] = [
  { AttributeName: 'h', AttributeType: 'N' },
  { AttributeName: 'r', AttributeType: 'B' },
  { AttributeName: 'unused', AttributeType: 'S' },
];

describe('validateAttributeValue', () => {
  it('returns normalized copies, numbers canonical at every depth', () => {
    const input = {
      M: {
        n: { N: '01.50' },
        ns: { NS: ['1e2', '-0.0'] },
        l: { L: [{ N: '1E-5' }, { S: '' }, { B: '' }, { NULL: true }, { BOOL: false }] },
      },
    };
    const out = validateAttributeValue(input);
    assert.deepEqual(out, {
      M: {
        n: { N: '1.5' },
        ns: { NS: ['100', '0'] },
        l: { L: [{ N: '0.00001' }, { S: '' }, { B: '' }, { NULL: true }, { BOOL: false }] },
      },
    });
    assert.notEqual(out.M, input.M);
    assert.equal(input.M.n.N, '01.50', 'input left untouched');
  });

  it('refuses empty values and values with several types', () => {
    const empty = 'Supplied AttributeValue is empty, must contain exactly one of the supported datatypes';
    assertValidation(() => validateAttributeValue({}), empty);
    assertValidation(() => validateAttributeValue(null), empty);
    // Null members and unknown members do not count.
    assertValidation(() => validateAttributeValue({ S: null, X: 'y' }), empty);
    assertValidation(() => validateAttributeValue({ L: [{}] }), empty);
    assertValidation(
      () => validateAttributeValue({ S: 'a', N: '1' }),
      'Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes',
    );
  });

  it('validates each member before objecting to several types', () => {
    assertValidation(
      () => validateAttributeValue({ S: 'a', N: 'b' }),
      'The parameter cannot be converted to a numeric value: b',
    );
    assertValidation(
      () => validateAttributeValue({ S: 'a', N: '' }),
      'The parameter cannot be converted to a numeric value',
    );
  });

  it('refuses NULL other than true', () => {
    assertValidation(
      () => validateAttributeValue({ NULL: false }),
      invalid('Null attribute value types must have the value of true'),
    );
    // Coral reads "no" as false.
    assertValidation(
      () => validateAttributeValue({ NULL: 'no' }),
      invalid('Null attribute value types must have the value of true'),
    );
    assert.deepEqual(validateAttributeValue({ NULL: 'TRUE' }), { NULL: true });
  });

  it('refuses empty sets with DynamoDB wording', () => {
    assertValidation(() => validateAttributeValue({ SS: [] }), invalid('An string set  may not be empty'));
    assertValidation(() => validateAttributeValue({ NS: [] }), invalid('An number set  may not be empty'));
    assertValidation(() => validateAttributeValue({ BS: [] }), invalid('Binary sets should not be empty'));
  });

  it('refuses duplicates in sets', () => {
    assertValidation(
      () => validateAttributeValue({ SS: ['a', 'a'] }),
      invalid('Input collection [a, a] contains duplicates.'),
    );
    assertValidation(
      () => validateAttributeValue({ SS: ['x', 'a', 'b', 'a'] }),
      invalid('Input collection [x, a, b, a] contains duplicates.'),
    );
    assertValidation(
      () => validateAttributeValue({ BS: ['Yg==', 'Yg=='] }),
      invalid('Input collection [Yg==, Yg==]of type BS contains duplicates.'),
    );
    assertValidation(() => validateAttributeValue({ NS: ['1', '1'] }), 'Input collection contains duplicates');
    // Numerically equal members are duplicates too.
    assertValidation(() => validateAttributeValue({ NS: ['1', '1.00', '2'] }), 'Input collection contains duplicates');
    assert.deepEqual(validateAttributeValue({ SS: ['a', 'A', ''] }), { SS: ['a', 'A', ''] });
    assert.deepEqual(validateAttributeValue({ BS: ['', 'AA=='] }), { BS: ['', 'AA=='] });
  });

  it('refuses invalid numbers in sets and nested documents', () => {
    assertValidation(
      () => validateAttributeValue({ NS: ['1', 'b'] }),
      'The parameter cannot be converted to a numeric value: b',
    );
    assertValidation(
      () => validateAttributeValue({ NS: ['1', ''] }),
      'The parameter cannot be converted to a numeric value',
    );
    assertValidation(
      () => validateAttributeValue({ NS: ['1', null] }),
      'The parameter cannot be converted to a numeric value',
    );
    assertValidation(
      () => validateAttributeValue({ L: [{ M: { x: { N: '1e126' } } }] }),
      'Number overflow. Attempting to store a number with magnitude larger than supported range',
    );
    assertValidation(
      () => validateAttributeValue({ M: { x: { SS: [] } } }),
      invalid('An string set  may not be empty'),
    );
  });

  it('refuses null set members', () => {
    assertValidation(
      () => validateAttributeValue({ SS: ['a', null] }),
      invalid('An string set may not have a empty string as a member'),
    );
    assertValidation(
      () => validateAttributeValue({ BS: ['AA==', null] }),
      invalid('Binary sets may not contain null or empty values'),
    );
  });

  it('refuses wrong JSON types as SerializationException', () => {
    assertSerialization(
      () => validateAttributeValue({ S: 5 }),
      'class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String',
    );
    assertSerialization(
      () => validateAttributeValue({ N: true }),
      'class java.lang.Boolean can not be converted to an String',
    );
    assertSerialization(() => validateAttributeValue({ S: ['a'] }), 'Start of list found where not expected');
    assertSerialization(
      () => validateAttributeValue({ S: { a: 1 } }),
      'Start of structure or map found where not expected.',
    );
    assertSerialization(() => validateAttributeValue({ SS: 'a' }), 'Expected list or null');
    assertSerialization(() => validateAttributeValue({ L: {} }), 'Start of structure or map found where not expected.');
    assertSerialization(() => validateAttributeValue({ M: [] }), 'Start of list found where not expected');
    assertSerialization(() => validateAttributeValue({ M: 'x' }), 'Expected map or null');
    assertSerialization(() => validateAttributeValue({ BOOL: 'maybe' }), "'MAYBE' can not be converted to an Boolean");
    assertSerialization(
      () => validateAttributeValue({ BOOL: 1 }),
      'class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an Boolean',
    );
    assertSerialization(() => validateAttributeValue('a'), 'Expected null');
    assertSerialization(() => validateAttributeValue([]), 'Start of list found where not expected');
  });

  it('reports serialization errors ahead of validation errors anywhere in the map', () => {
    assertSerialization(
      () => validateAttributeMap({ a: { SS: [] }, b: { S: 5 } }),
      'class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String',
    );
  });

  it('requires canonical base64 for B and BS', () => {
    assert.deepEqual(validateAttributeValue({ B: 'AAEC' }), { B: 'AAEC' });
    assertSerialization(
      () => validateAttributeValue({ B: 'abc' }),
      "'abc' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 3",
    );
    assertSerialization(
      () => validateAttributeValue({ B: 'ab*d' }),
      "'ab*d' can not be converted to a Blob: Invalid Base64 character: '*'",
    );
    assertSerialization(
      () => validateAttributeValue({ B: 'a=bc' }),
      "'a=bc' can not be converted to a Blob: Invalid Base64 character: '='",
    );
    assertSerialization(
      () => validateAttributeValue({ B: 'YR==' }),
      "'YR==' can not be converted to a Blob: Invalid last non-pad Base64 character dectected",
    );
    assertSerialization(
      () => validateAttributeValue({ BS: ['AA==', 'x'] }),
      "'x' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 1",
    );
    assertSerialization(
      () => validateAttributeValue({ B: 7 }),
      'class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to a Blob',
    );
  });

  it('limits nesting to 32 levels', () => {
    const deep = (levels: number): AttributeValue => {
      let v: AttributeValue = { S: 'leaf' };
      for (let i = 0; i < levels; i++) v = i % 2 ? { M: { n: v } } : { L: [v] };
      return v;
    };
    assert.ok(validateAttributeMap({ data: deep(31) }).data);
    assertValidation(() => validateAttributeMap({ data: deep(32) }), NESTING_LIMIT_MESSAGE);
    // An empty document at level 32 holds no value below it, so it is allowed.
    const wrap = (levels: number, leaf: AttributeValue): AttributeValue =>
      levels === 0 ? leaf : { L: [wrap(levels - 1, leaf)] };
    assert.deepEqual(validateAttributeMap({ data: wrap(31, { M: {} }) }), { data: wrap(31, { M: {} }) });
    assertValidation(() => validateAttributeMap({ data: wrap(32, { M: {} }) }), NESTING_LIMIT_MESSAGE);
    // Absurd depths are refused without exhausting the stack.
    assertValidation(() => validateAttributeMap({ data: deep(100000) }), NESTING_LIMIT_MESSAGE);
  });

  it('reports errors in document order', () => {
    const deep: AttributeValue = { L: [] };
    let cursor = deep;
    for (let i = 0; i < 40; i++) {
      const next: AttributeValue = { L: [] };
      cursor.L?.push(next);
      cursor = next;
    }
    assertValidation(
      () => validateAttributeMap({ a: { N: 'x' }, b: deep }),
      'The parameter cannot be converted to a numeric value: x',
    );
    assertValidation(() => validateAttributeMap({ b: deep, a: { N: 'x' } }), NESTING_LIMIT_MESSAGE);
  });

  it('keeps attributes named __proto__ as data', () => {
    const raw = JSON.parse('{"__proto__": {"S": "x"}, "m": {"M": {"__proto__": {"N": "1"}}}}') as unknown;
    const out = validateAttributeMap(raw);
    assert.deepEqual(Object.keys(out), ['__proto__', 'm']);
    assert.deepEqual(Object.getOwnPropertyDescriptor(out, '__proto__')?.value, { S: 'x' });
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.deepEqual(Object.keys(out.m?.M ?? {}), ['__proto__']);
  });
});

describe('itemSize', () => {
  it('counts names and strings in UTF-8 bytes', () => {
    assert.equal(itemSize({ a: { S: 'abc' } }), 4);
    assert.equal(itemSize({ é: { S: '😀' } }), 2 + 4);
    assert.equal(itemSize({ b: { B: 'AAEC' } }), 1 + 3);
    assert.equal(itemSize({ t: { BOOL: true }, n: { NULL: true } }), 4);
  });

  it('sizes numbers like DynamoDB (base-100 digit pairs)', () => {
    const n = (text: string) => attributeValueSize({ N: text });
    assert.equal(n('0'), 1);
    assert.equal(n('1'), 2);
    assert.equal(n('12'), 2);
    assert.equal(n('123'), 3);
    assert.equal(n('1.2'), 3);
    assert.equal(n('-1'), 3);
    // Cases pinned by DynamoDB's item-size limit tests: 38 digits at 1e125 is 20 bytes, etc.
    assert.equal(n(`${'1'.repeat(38)}${'0'.repeat(88)}`), 20);
    assert.equal(n(`1${'0'.repeat(125)}`), 2);
    assert.equal(n(`11${'0'.repeat(124)}`), 2);
    assert.equal(n(`11111${'0'.repeat(121)}`), 4);
    assert.equal(n(`111111${'0'.repeat(120)}`), 4);
    assert.equal(n(`1111111${'0'.repeat(119)}`), 5);
  });

  it('sizes sets and documents', () => {
    assert.equal(attributeValueSize({ SS: ['ab', 'c'] }), 3);
    assert.equal(attributeValueSize({ BS: ['AA==', 'AAA='] }), 3);
    assert.equal(attributeValueSize({ NS: ['1', '12'] }), 4);
    assert.equal(attributeValueSize({ L: [] }), 3);
    assert.equal(attributeValueSize({ L: [{ S: 'ab' }, { BOOL: true }] }), 3 + 1 + 2 + 1 + 1);
    assert.equal(attributeValueSize({ M: { ab: { S: 'cd' } } }), 3 + 1 + 2 + 2);
    assert.equal(attributeValueSize({ M: { x: { M: {} } } }), 3 + 1 + 1 + 3);
  });

  it('refuses items over 400 KB and accepts exactly 400 KB', () => {
    const fill = (extra: number): Item => ({ a: { S: 'k' }, b: { S: 'x'.repeat(MAX_ITEM_SIZE - 3 + extra) } });
    assert.equal(itemSize(fill(0)), MAX_ITEM_SIZE);
    validateItemSize(fill(0));
    assertValidation(() => validateItemSize(fill(1)), 'Item size has exceeded the maximum allowed size');
  });
});

describe('validateItem', () => {
  it('returns the normalized item', () => {
    const out = validateItem({ h: { N: '1.0' }, r: { B: 'AA==' }, x: { NS: ['2', '1e0'] } }, composite, compositeDefs);
    assert.deepEqual(out, { h: { N: '1' }, r: { B: 'AA==' }, x: { NS: ['2', '1'] } });
  });

  it('requires every key attribute', () => {
    assertValidation(
      () => validateItem({ x: { S: 'a' } }, hashOnly, hashOnlyDefs),
      invalid('Missing the key a in the item'),
    );
    assertValidation(
      () => validateItem({ h: { N: '1' } }, composite, compositeDefs),
      invalid('Missing the key r in the item'),
    );
    assertValidation(
      () => validateItem({ r: { B: 'AA==' } }, composite, compositeDefs),
      invalid('Missing the key h in the item'),
    );
    assertValidation(() => validateItem(null, hashOnly, hashOnlyDefs), invalid('Missing the key a in the item'));
  });

  it('checks key types', () => {
    assertValidation(
      () => validateItem({ a: { N: '1' } }, hashOnly, hashOnlyDefs),
      invalid('Type mismatch for key a expected: S actual: N'),
    );
    assertValidation(
      () => validateItem({ h: { N: '1' }, r: { SS: ['x'] } }, composite, compositeDefs),
      invalid('Type mismatch for key r expected: B actual: SS'),
    );
  });

  it('refuses empty key values but allows empty non-key values', () => {
    assertValidation(
      () => validateItem({ a: { S: '' } }, hashOnly, hashOnlyDefs),
      'One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: a',
    );
    assertValidation(
      () => validateItem({ h: { N: '1' }, r: { B: '' } }, composite, compositeDefs),
      'One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty binary value. Key: r',
    );
    assert.deepEqual(validateItem({ a: { S: 'k' }, e: { S: '' }, f: { B: '' } }, hashOnly, hashOnlyDefs), {
      a: { S: 'k' },
      e: { S: '' },
      f: { B: '' },
    });
  });

  it('limits key sizes in bytes', () => {
    validateItem({ a: { S: 'x'.repeat(2048) } }, hashOnly, hashOnlyDefs);
    assertValidation(
      () => validateItem({ a: { S: 'x'.repeat(2049) } }, hashOnly, hashOnlyDefs),
      invalid('Size of hashkey has exceeded the maximum size limit of2048 bytes'),
    );
    // 1024 two-byte characters are 2048 bytes: within the hash limit, counted in bytes.
    assertValidation(
      () => validateItem({ a: { S: 'é'.repeat(1025) } }, hashOnly, hashOnlyDefs),
      invalid('Size of hashkey has exceeded the maximum size limit of2048 bytes'),
    );
    const bytes = (n: number) => Buffer.alloc(n).toString('base64');
    validateItem({ h: { N: '1' }, r: { B: bytes(1024) } }, composite, compositeDefs);
    assertValidation(
      () => validateItem({ h: { N: '1' }, r: { B: bytes(1025) } }, composite, compositeDefs),
      invalid('Aggregated size of all range keys has exceeded the size limit of 1024 bytes'),
    );
  });

  it('checks item size before the key', () => {
    assertValidation(
      () => validateItem({ big: { S: 'x'.repeat(MAX_ITEM_SIZE) } }, hashOnly, hashOnlyDefs),
      'Item size has exceeded the maximum allowed size',
    );
  });

  it('validates values before the key', () => {
    assertValidation(
      () => validateItem({ x: { SS: [] } }, hashOnly, hashOnlyDefs),
      invalid('An string set  may not be empty'),
    );
  });
});

describe('validateKey', () => {
  const mismatch = 'The provided key element does not match the schema';

  it('returns the normalized key', () => {
    assert.deepEqual(validateKey({ h: { N: '5.00' }, r: { B: 'AQ==' } }, composite, compositeDefs), {
      h: { N: '5' },
      r: { B: 'AQ==' },
    });
  });

  it('refuses missing, extra or mistyped attributes', () => {
    assertValidation(() => validateKey({}, hashOnly, hashOnlyDefs), mismatch);
    assertValidation(() => validateKey({ a: { S: 'x' }, b: { S: 'y' } }, hashOnly, hashOnlyDefs), mismatch);
    assertValidation(() => validateKey({ b: { S: 'y' } }, hashOnly, hashOnlyDefs), mismatch);
    assertValidation(() => validateKey({ a: { N: '1' } }, hashOnly, hashOnlyDefs), mismatch);
    assertValidation(() => validateKey({ h: { N: '1' } }, composite, compositeDefs), mismatch);
    assertValidation(() => validateKey({ h: { N: '1' }, x: { B: 'AA==' } }, composite, compositeDefs), mismatch);
  });

  it('validates values before matching the schema', () => {
    assertValidation(
      () => validateKey({ a: { NULL: false } }, hashOnly, hashOnlyDefs),
      invalid('Null attribute value types must have the value of true'),
    );
  });

  it('refuses empty key values and oversized ones', () => {
    assertValidation(
      () => validateKey({ a: { S: '' } }, hashOnly, hashOnlyDefs),
      'One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: a',
    );
    assertValidation(
      () => validateKey({ a: { S: 'x'.repeat(2049) } }, hashOnly, hashOnlyDefs),
      invalid('Size of hashkey has exceeded the maximum size limit of2048 bytes'),
    );
  });
});

describe('keyAttributes', () => {
  it('resolves hash and range with their types regardless of order', () => {
    assert.deepEqual(keyAttributes(composite, compositeDefs), {
      hash: { name: 'h', type: 'N' },
      range: { name: 'r', type: 'B' },
    });
    assert.deepEqual(keyAttributes(hashOnly, hashOnlyDefs), { hash: { name: 'a', type: 'S' } });
  });

  it('fails loudly on an inconsistent schema', () => {
    assert.throws(() => keyAttributes(hashOnly, []), /no attribute definition/);
    assert.throws(() => keyAttributes([{ AttributeName: 'a', KeyType: 'RANGE' }], hashOnlyDefs), /no HASH/);
  });
});
