/** Facts about attribute values that expression checks need: type, order and DynamoDB's rendering. */
import { Buffer } from 'node:buffer';
import type { AttributeValue } from '../attribute-value.js';
import { attributeType } from '../item-validation.js';
import { compareNumbers } from '../number.js';

export type AttributeType = ReturnType<typeof attributeType>;

export const typeOf = (value: AttributeValue): AttributeType => attributeType(value);

/**
 * DynamoDB's order between two scalars of the same type: N numerically, S by UTF-8 bytes,
 * B bytewise. Undefined for values that have no order (other types, or mixed types).
 */
export function compareScalars(a: AttributeValue, b: AttributeValue): number | undefined {
  if (a.N !== undefined && b.N !== undefined) return compareNumbers(a.N, b.N);
  if (a.S !== undefined && b.S !== undefined) return Buffer.compare(Buffer.from(a.S, 'utf8'), Buffer.from(b.S, 'utf8'));
  if (a.B !== undefined && b.B !== undefined)
    return Buffer.compare(Buffer.from(a.B, 'base64'), Buffer.from(b.B, 'base64'));
  return undefined;
}

/** `AttributeValue: {N:5}`, the way DynamoDB quotes an operand in expression errors. */
export function describeValue(value: AttributeValue): string {
  const type = typeOf(value);
  return `AttributeValue: {${type}:${renderMember(value[type])}}`;
}

function renderMember(member: unknown): string {
  if (Array.isArray(member)) return `[${member.map(renderMember).join(', ')}]`;
  if (typeof member === 'object' && member !== null) return JSON.stringify(member);
  return String(member);
}
