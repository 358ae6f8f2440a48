/**
 * Exact decimal addition and subtraction for `SET a = a + :x` and `ADD`. Operands are
 * scaled to integers (BigInt) at their common exponent, so nothing is ever rounded; the
 * result goes back through DynamoDB's number validation, which reports overflow,
 * underflow and more than 38 significant digits with DynamoDB's messages.
 */
import { normalizeNumber, type ParsedNumber, parseNumber } from './number.js';

/** value = mantissa × 10^scale */
interface Scaled {
  readonly mantissa: bigint;
  readonly scale: number;
}

function scaled(n: ParsedNumber): Scaled {
  if (n.sign === 0) return { mantissa: 0n, scale: 0 };
  return { mantissa: BigInt(n.sign) * BigInt(n.digits), scale: n.exponent - n.digits.length };
}

function align(a: Scaled, b: Scaled): [bigint, bigint, number] {
  const scale = Math.min(a.scale, b.scale);
  return [a.mantissa * 10n ** BigInt(a.scale - scale), b.mantissa * 10n ** BigInt(b.scale - scale), scale];
}

function render(mantissa: bigint, scale: number): string {
  return `${mantissa}E${scale}`;
}

/** a + b for two DynamoDB number strings; throws DynamoDB's ValidationException if the sum cannot be stored. */
export function addNumbers(a: string, b: string): string {
  const [x, y, scale] = align(scaled(parseNumber(a)), scaled(parseNumber(b)));
  return normalizeNumber(render(x + y, scale));
}

/** a − b, as addNumbers. */
export function subtractNumbers(a: string, b: string): string {
  const [x, y, scale] = align(scaled(parseNumber(a)), scaled(parseNumber(b)));
  return normalizeNumber(render(x - y, scale));
}
