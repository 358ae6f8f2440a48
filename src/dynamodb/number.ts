/**
 * DynamoDB's Number type: arbitrary-precision decimals of at most 38 significant digits
 * with a magnitude in [1E-130, 9.99...E+125], stored and returned in a canonical plain form.
 * Everything here is exact decimal arithmetic on digit strings; floats would silently
 * round values that DynamoDB keeps exact.
 */
import { validationError } from './errors.js';

/** value = sign × 0.d1d2d3… × 10^exponent; zero is `{ sign: 0, digits: '', exponent: 0 }`. */
export interface ParsedNumber {
  sign: -1 | 0 | 1;
  /** Significant digits, with no leading or trailing zeros (empty for zero). */
  digits: string;
  exponent: number;
}

export const MAX_SIGNIFICANT_DIGITS = 38;
/** Largest exponent (in the 0.d… form) a stored number may have: 9.99…E+125 = 0.999…E+126. */
export const MAX_EXPONENT = 126;
/** Smallest exponent (in the 0.d… form): 1E-130 = 0.1E-129. */
export const MIN_EXPONENT = -129;

// Java's BigDecimal grammar, which is what DynamoDB accepts: optional sign, digits with an
// optional point on either side ("1.", ".5"), optional exponent.
const NUMBER_PATTERN = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
// BigDecimal rejects exponents that do not fit a Java int.
const MAX_INT = 2 ** 31 - 1;

const notNumeric = (text: string) =>
  validationError(
    text === ''
      ? 'The parameter cannot be converted to a numeric value'
      : `The parameter cannot be converted to a numeric value: ${text}`,
  );

/**
 * Parses and validates a DynamoDB N string. Throws DynamoDB's ValidationException for
 * text that is not a number or that DynamoDB cannot store.
 */
export function parseNumber(text: string): ParsedNumber {
  const match = NUMBER_PATTERN.exec(text);
  if (!match) throw notNumeric(text);
  const [, signText = '', intPart = '', fracPart = '', expText] = match;
  if (intPart === '' && fracPart === '') throw notNumeric(text);

  let exp = 0;
  if (expText !== undefined) {
    exp = Number(expText);
    if (!Number.isSafeInteger(exp) || Math.abs(exp) > MAX_INT) throw notNumeric(text);
  }

  const all = intPart + fracPart;
  const first = all.search(/[1-9]/);
  if (first < 0) return { sign: 0, digits: '', exponent: 0 };
  let last = all.length;
  while (all.charCodeAt(last - 1) === 0x30) last--;
  const digits = all.slice(first, last);
  // all (as an integer) × 10^(exp - fracLen); the digits after `last` were zeros.
  const exponent = exp - fracPart.length + (all.length - last) + digits.length;

  // DynamoDB reports range errors ahead of precision errors.
  if (exponent > MAX_EXPONENT) {
    throw validationError('Number overflow. Attempting to store a number with magnitude larger than supported range');
  }
  if (exponent < MIN_EXPONENT) {
    throw validationError('Number underflow. Attempting to store a number with magnitude smaller than supported range');
  }
  if (digits.length > MAX_SIGNIFICANT_DIGITS) {
    throw validationError('Attempting to store more than 38 significant digits in a Number');
  }
  return { sign: signText === '-' ? -1 : 1, digits, exponent };
}

/** DynamoDB's canonical text: plain decimal notation, no exponent, no superfluous zeros. */
export function formatNumber(n: ParsedNumber): string {
  if (n.sign === 0) return '0';
  const { digits, exponent } = n;
  let body: string;
  if (exponent <= 0) body = `0.${'0'.repeat(-exponent)}${digits}`;
  else if (exponent >= digits.length) body = digits + '0'.repeat(exponent - digits.length);
  else body = `${digits.slice(0, exponent)}.${digits.slice(exponent)}`;
  return n.sign < 0 ? `-${body}` : body;
}

/** Validates a DynamoDB N string and returns the form DynamoDB stores and returns. */
export function normalizeNumber(text: string): string {
  return formatNumber(parseNumber(text));
}

/** Exact numeric comparison: negative, zero or positive like a sort comparator. */
export function compareNumbers(a: string | ParsedNumber, b: string | ParsedNumber): number {
  const x = typeof a === 'string' ? parseNumber(a) : a;
  const y = typeof b === 'string' ? parseNumber(b) : b;
  if (x.sign !== y.sign) return x.sign < y.sign ? -1 : 1;
  if (x.sign === 0) return 0;
  return x.sign * compareMagnitudes(x, y);
}

function compareMagnitudes(x: ParsedNumber, y: ParsedNumber): number {
  if (x.exponent !== y.exponent) return x.exponent < y.exponent ? -1 : 1;
  // Same exponent and no trailing zeros: digit strings compare like the fractions they are.
  if (x.digits === y.digits) return 0;
  return x.digits < y.digits ? -1 : 1;
}
