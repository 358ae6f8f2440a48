import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareNumbers, normalizeNumber, parseNumber } from '../../src/dynamodb/number.js';
import { AwsError } from '../../src/http/aws-error.js';

const OVERFLOW = 'Number overflow. Attempting to store a number with magnitude larger than supported range';
const UNDERFLOW = 'Number underflow. Attempting to store a number with magnitude smaller than supported range';
const PRECISION = 'Attempting to store more than 38 significant digits in a Number';

function assertValidation(fn: () => unknown, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof AwsError);
    assert.equal(err.code, 'ValidationException');
    assert.equal(err.wireType, 'com.amazon.coral.validate#ValidationException');
    assert.equal(err.message, message);
    return true;
  });
}

describe('normalizeNumber', () => {
  const cases: Array<[string, string]> = [
    ['0', '0'],
    ['-0', '0'],
    ['+0.000', '0'],
    ['0e999', '0'],
    ['01', '1'],
    ['1.0', '1'],
    ['1.', '1'],
    ['.5', '0.5'],
    ['-.5', '-0.5'],
    ['+7', '7'],
    ['1e2', '100'],
    ['1E+2', '100'],
    ['0.10', '0.1'],
    ['1E-5', '0.00001'],
    ['-1.5e-3', '-0.0015'],
    ['123.456', '123.456'],
    ['123456e-3', '123.456'],
    ['0.000123e3', '0.123'],
    ['-00012300', '-12300'],
    ['12.34e1', '123.4'],
    ['12.34e2', '1234'],
    ['1e125', `1${'0'.repeat(125)}`],
    ['1e-130', `0.${'0'.repeat(129)}1`],
    [`9.${'9'.repeat(37)}E+125`, '9'.repeat(38) + '0'.repeat(88)],
    // Trailing zeros are not significant, so this is 1 significant digit.
    [`1${'0'.repeat(60)}`, `1${'0'.repeat(60)}`],
    [`0.${'0'.repeat(40)}1`, `0.${'0'.repeat(40)}1`],
  ];
  for (const [input, expected] of cases) {
    it(`${input.length > 30 ? `${input.slice(0, 30)}…` : input} → canonical`, () => {
      assert.equal(normalizeNumber(input), expected);
    });
  }

  it('refuses text that is not a number, with the text in the message', () => {
    for (const text of [
      'b',
      '1a',
      '1e',
      'e5',
      '.',
      '-',
      '+',
      '1.2.3',
      ' 1',
      '1 ',
      '0x10',
      'NaN',
      'Infinity',
      '1e5.5',
      '--1',
      '1_000',
    ]) {
      assertValidation(() => normalizeNumber(text), `The parameter cannot be converted to a numeric value: ${text}`);
    }
  });

  it('refuses the empty string without a colon', () => {
    assertValidation(() => normalizeNumber(''), 'The parameter cannot be converted to a numeric value');
  });

  it('refuses exponents that do not fit a Java int', () => {
    assertValidation(
      () => normalizeNumber('1e99999999999'),
      'The parameter cannot be converted to a numeric value: 1e99999999999',
    );
  });

  it('enforces 38 significant digits', () => {
    assert.equal(normalizeNumber('1'.repeat(38)), '1'.repeat(38));
    assertValidation(() => normalizeNumber('123456789012345678901234567890123456789'), PRECISION);
    assertValidation(() => normalizeNumber('-1.23456789012345678901234567890123456789'), PRECISION);
    // Leading zeros are not significant.
    assert.equal(normalizeNumber(`000${'1'.repeat(38)}`), '1'.repeat(38));
  });

  it('enforces the magnitude range', () => {
    assertValidation(() => normalizeNumber('1e126'), OVERFLOW);
    assertValidation(() => normalizeNumber('-1e126'), OVERFLOW);
    assertValidation(() => normalizeNumber(`1${'0'.repeat(126)}`), OVERFLOW);
    assertValidation(() => normalizeNumber('1e-131'), UNDERFLOW);
    assertValidation(() => normalizeNumber('-1e-131'), UNDERFLOW);
    assertValidation(() => normalizeNumber('0.99e-130'), UNDERFLOW);
    assert.equal(normalizeNumber('-9.9e125'), `-99${'0'.repeat(124)}`);
  });

  it('reports range errors ahead of precision errors', () => {
    assertValidation(() => normalizeNumber(`${'1'.repeat(39)}e200`), OVERFLOW);
    assertValidation(() => normalizeNumber(`0.${'1'.repeat(39)}e-200`), UNDERFLOW);
  });
});

describe('parseNumber', () => {
  it('returns sign, trimmed digits and the 0.d×10^e exponent', () => {
    assert.deepEqual(parseNumber('0'), { sign: 0, digits: '', exponent: 0 });
    assert.deepEqual(parseNumber('-0.00'), { sign: 0, digits: '', exponent: 0 });
    assert.deepEqual(parseNumber('1'), { sign: 1, digits: '1', exponent: 1 });
    assert.deepEqual(parseNumber('-120.50'), { sign: -1, digits: '1205', exponent: 3 });
    assert.deepEqual(parseNumber('0.0012'), { sign: 1, digits: '12', exponent: -2 });
    assert.deepEqual(parseNumber('1e-130'), { sign: 1, digits: '1', exponent: -129 });
    assert.deepEqual(parseNumber('9.9e125'), { sign: 1, digits: '99', exponent: 126 });
  });
});

describe('compareNumbers', () => {
  it('orders by sign, then magnitude', () => {
    const sorted = [
      '-1e125',
      '-100',
      '-99.9',
      '-0.123',
      '-0.12',
      '-1e-130',
      '0',
      '1e-130',
      '0.12',
      '0.123',
      '9',
      '10',
      '1e125',
    ];
    const shuffled = [...sorted].reverse();
    shuffled.sort(compareNumbers);
    assert.deepEqual(shuffled, sorted);
  });

  it('treats differently written equal numbers as equal', () => {
    assert.equal(compareNumbers('1', '1.000'), 0);
    assert.equal(compareNumbers('100', '1e2'), 0);
    assert.equal(compareNumbers('-0', '0'), 0);
    assert.ok(compareNumbers('2', '10') < 0);
    assert.ok(compareNumbers('-2', '-10') > 0);
  });

  it('is exact where floats are not', () => {
    const a = '0.1000000000000000000000000000000000001';
    const b = '0.1';
    assert.equal(Number(a), Number(b));
    assert.ok(compareNumbers(a, b) > 0);
    assert.ok(compareNumbers('9007199254740993', '9007199254740992') > 0);
  });

  it('agrees with a BigInt reference on random integers', () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const randomInt = (): string => {
      const len = 1 + rand(38);
      let s = String(1 + rand(9));
      for (let i = 1; i < len; i++) s += String(rand(10));
      return (rand(2) ? '-' : '') + s;
    };
    for (let i = 0; i < 2000; i++) {
      const a = randomInt();
      const b = rand(10) === 0 ? a : randomInt();
      const expected = Math.sign(Number(BigInt(a) - BigInt(b)));
      assert.equal(Math.sign(compareNumbers(a, b)), expected, `${a} vs ${b}`);
    }
  });
});
