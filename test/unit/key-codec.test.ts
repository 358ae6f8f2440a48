import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, it } from 'node:test';
import type { AttributeValue, ScalarKeyType } from '../../src/dynamodb/attribute-value.js';
import { decodeKeyValue, encodeKeyValue, hashPartition } from '../../src/dynamodb/key-codec.js';
import { compareNumbers, normalizeNumber } from '../../src/dynamodb/number.js';

/** Deterministic PRNG (mulberry32) so failures reproduce. */
function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n) | 0;
  };
}

const encN = (n: string) => encodeKeyValue('N', { N: n });
const sign = (x: number) => (x < 0 ? -1 : x > 0 ? 1 : 0);

/**
 * A random number as mantissa × 10^q, written in one of several textual forms, with its
 * exact value scaled to a BigInt (× 10^SCALE) as an independent reference.
 */
const SCALE = 200n;
interface RandomNumber {
  text: string;
  scaled: bigint;
}
function randomNumber(rand: (n: number) => number): RandomNumber {
  if (rand(20) === 0) return { text: ['0', '-0', '0.000', '0e5'][rand(4)] as string, scaled: 0n };
  const len = 1 + rand(38);
  // Few distinct leading digits so that prefix relations (0.12 vs 0.123) are common.
  let digits = String(1 + rand(2));
  for (let i = 1; i < len; i++) digits += String(rand(3) === 0 ? 0 : rand(3));
  // Scientific exponent (d.ddd×10^e) within DynamoDB's range; clustered to collide often.
  const sciExp = rand(4) === 0 ? -130 + rand(256) : -3 + rand(7);
  const q = sciExp - (len - 1); // value = digits × 10^q
  const negative = rand(2) === 0;
  const mantissa = BigInt(digits);
  const scaled = (negative ? -1n : 1n) * mantissa * 10n ** (SCALE + BigInt(q));
  let text: string;
  if (rand(2) === 0) {
    text = `${digits}e${q}`;
  } else if (q >= 0) {
    text = digits + '0'.repeat(q);
  } else if (-q < len) {
    text = `${digits.slice(0, len + q)}.${digits.slice(len + q)}`;
  } else {
    text = `0.${'0'.repeat(-q - len)}${digits}`;
  }
  return { text: (negative ? '-' : '') + text, scaled };
}

/** Reference order for strings: by Unicode code point, which is UTF-8 byte order. */
function compareCodePoints(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0) as number);
  const y = Array.from(b, (c) => c.codePointAt(0) as number);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  }
  return x.length - y.length;
}

function compareByteArrays(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  }
  return a.length - b.length;
}

describe('encodeKeyValue for numbers', () => {
  it('orders hand-picked edge cases, including digit-prefix pairs', () => {
    const sorted = [
      '-9.9999999999999999999999999999999999999e125',
      '-1e125',
      '-100',
      '-10',
      '-9',
      '-1.5',
      '-1',
      '-0.123',
      '-0.12',
      '-0.1',
      '-1e-130',
      '0',
      '1e-130',
      '0.1',
      '0.12',
      '0.123',
      '1',
      '1.5',
      '9',
      '10',
      '100',
      '1e125',
      '9.9999999999999999999999999999999999999e125',
    ];
    const encoded = [...sorted].reverse().map(encN);
    encoded.sort(Buffer.compare);
    assert.deepEqual(
      encoded.map((b) => decodeKeyValue('N', b).N),
      sorted.map(normalizeNumber),
    );
  });

  it('encodes zero and the documented layouts', () => {
    assert.deepEqual([...encN('-0')], [0x02]);
    assert.deepEqual([...encN('12')], [0x03, 2 + 129, 1, 2]);
    assert.deepEqual([...encN('-12')], [0x01, 255 - (2 + 129), 8, 7, 0x0a]);
  });

  it('gives equal numbers written differently the same bytes', () => {
    assert.deepEqual(encN('1e2'), encN('100.000'));
    assert.deepEqual(encN('-0.5'), encN('-.50'));
  });

  it('property: sorting by encoded bytes matches the exact numeric order', () => {
    const rand = prng(7);
    for (let round = 0; round < 40; round++) {
      const values = Array.from({ length: 60 }, () => randomNumber(rand));
      // The BigInt reference is independent of parseNumber.
      const byReference = [...values].sort((a, b) => sign(Number(a.scaled - b.scaled)) || 0);
      const byBytes = [...values].sort((a, b) => Buffer.compare(encN(a.text), encN(b.text)));
      assert.deepEqual(
        byBytes.map((v) => v.scaled),
        byReference.map((v) => v.scaled),
      );
      for (let i = 0; i + 1 < values.length; i++) {
        const a = values[i] as RandomNumber;
        const b = values[i + 1] as RandomNumber;
        const expected = a.scaled < b.scaled ? -1 : a.scaled > b.scaled ? 1 : 0;
        assert.equal(sign(Buffer.compare(encN(a.text), encN(b.text))), expected, `${a.text} vs ${b.text}`);
        assert.equal(sign(compareNumbers(a.text, b.text)), expected, `${a.text} vs ${b.text}`);
      }
    }
  });

  it('property: integers order like BigInt', () => {
    const rand = prng(11);
    const ints = Array.from({ length: 500 }, () => {
      const len = 1 + rand(38);
      let s = String(1 + rand(9));
      for (let i = 1; i < len; i++) s += String(rand(10));
      return rand(2) ? `-${s}` : s;
    });
    const byBigInt = [...ints].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
    const byBytes = [...ints].sort((a, b) => Buffer.compare(encN(a), encN(b)));
    assert.deepEqual(byBytes, byBigInt);
  });

  it('round-trips to the canonical form', () => {
    const rand = prng(3);
    for (let i = 0; i < 500; i++) {
      const { text } = randomNumber(rand);
      assert.deepEqual(decodeKeyValue('N', encN(text)), { N: normalizeNumber(text) });
    }
  });

  it('rejects corrupt encodings instead of inventing a number', () => {
    assert.throws(() => decodeKeyValue('N', Buffer.from([0x03, 130, 12])));
    assert.throws(() => decodeKeyValue('N', Buffer.from([0x01, 130, 5])));
    assert.throws(() => decodeKeyValue('N', Buffer.from([])));
  });
});

describe('encodeKeyValue for strings and binaries', () => {
  const alphabet = [
    'a',
    'b',
    'z',
    'A',
    '0',
    ' ',
    '\u0000',
    'é',
    '\u00ff',
    '\u4e2d',
    '\uff5e',
    '\uffff',
    '😀',
    '𐀀',
    '\ud7ff',
    '\ue000',
  ];

  it('property: strings sort by UTF-8 bytes (code points), not UTF-16 units', () => {
    const rand = prng(5);
    const strings = Array.from({ length: 400 }, () => {
      let s = '';
      const len = rand(6);
      for (let i = 0; i < len; i++) s += alphabet[rand(alphabet.length)];
      return s;
    });
    const byReference = [...strings].sort(compareCodePoints);
    const byBytes = [...strings].sort((a, b) =>
      Buffer.compare(encodeKeyValue('S', { S: a }), encodeKeyValue('S', { S: b })),
    );
    assert.deepEqual(byBytes, byReference);
    // The naive JS order disagrees on these, which is why UTF-8 bytes are used.
    assert.ok('\uff5e' > '😀');
    assert.ok(Buffer.compare(encodeKeyValue('S', { S: '\uff5e' }), encodeKeyValue('S', { S: '😀' })) < 0);
  });

  it('property: binaries sort bytewise, unsigned, shorter prefix first', () => {
    const rand = prng(9);
    const arrays = Array.from({ length: 400 }, () =>
      Array.from({ length: rand(5) }, () => [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff][rand(6)] as number),
    );
    const byReference = [...arrays].sort(compareByteArrays);
    const enc = (a: number[]) => encodeKeyValue('B', { B: Buffer.from(a).toString('base64') });
    const byBytes = [...arrays].sort((a, b) => Buffer.compare(enc(a), enc(b)));
    assert.deepEqual(byBytes, byReference);
  });

  it('round-trips strings and binaries exactly', () => {
    for (const s of ['', 'a', 'héllo', '😀x', '\u0000']) {
      assert.deepEqual(decodeKeyValue('S', encodeKeyValue('S', { S: s })), { S: s });
    }
    for (const b of ['', 'AA==', '/w==', 'AAECAwQF']) {
      assert.deepEqual(decodeKeyValue('B', encodeKeyValue('B', { B: b })), { B: b });
    }
    assert.deepEqual([...encodeKeyValue('B', { B: '/w==' })], [0xff]);
  });

  it('refuses a value of the wrong type', () => {
    const mismatches: Array<[ScalarKeyType, AttributeValue]> = [
      ['S', { N: '1' }],
      ['N', { S: '1' }],
      ['B', { S: 'AA==' }],
    ];
    for (const [type, value] of mismatches) {
      assert.throws(() => encodeKeyValue(type, value), TypeError);
    }
  });
});

describe('hashPartition', () => {
  it('is a deterministic unsigned 32-bit value', () => {
    const key = encodeKeyValue('S', { S: 'user#1' });
    const h = hashPartition(key);
    assert.equal(h, hashPartition(Buffer.from('user#1')));
    assert.ok(Number.isInteger(h) && h >= 0 && h <= 0xffffffff);
    assert.notEqual(h, hashPartition(encodeKeyValue('S', { S: 'user#2' })));
  });

  it('spreads keys across segments', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) {
      const h = hashPartition(encodeKeyValue('N', { N: String(i) }));
      counts[Math.floor((h * 4) / 2 ** 32)] += 1;
    }
    for (const c of counts) assert.ok(c > 800 && c < 1200, `segment counts ${counts.join(',')}`);
  });
});
