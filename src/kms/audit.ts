/**
 * The record of one KMS call handed to audit listeners (issue #5 turns it into a CloudTrail event).
 * Parameters are sanitized against the model: blob and sensitive members (plaintext, ciphertext)
 * are left out, member names are lower-camel as in CloudTrail, encryption contexts are kept.
 */
import type { Principal } from '../http/service.js';
import type { CompactModel, Shape } from '../validation/model.js';
import type { AuditResource } from './operation.js';

export interface KmsCallEvent {
  /** The API operation, e.g. `Decrypt` (CloudTrail `eventName`). */
  readonly eventName: string;
  /** Epoch milliseconds from the service clock, taken when the call completed. */
  readonly eventTime: number;
  readonly requestId: string;
  readonly region: string;
  /** The caller (CloudTrail `userIdentity`). */
  readonly principal: Principal;
  /** For calls an AWS service made, e.g. `dynamodb.amazonaws.com`. */
  readonly invokedBy?: string;
  /** `kms:ViaService` of the call, e.g. `dynamodb.us-east-1.amazonaws.com`. */
  readonly viaService?: string;
  readonly sourceIp: string;
  readonly userAgent: string;
  readonly readOnly: boolean;
  /** The keys the call involved (after resolving aliases and ciphertexts). */
  readonly resources: readonly AuditResource[];
  /** The account owning the (first) key involved, else the caller's (CloudTrail `recipientAccountId`). */
  readonly keyOwnerAccountId: string;
  readonly requestParameters: Record<string, unknown> | null;
  /** Null for read-only calls and calls without output, as in CloudTrail. */
  readonly responseElements: Record<string, unknown> | null;
  readonly additionalEventData?: Record<string, unknown>;
  readonly errorCode?: string;
  readonly errorMessage?: string;
}

export type KmsCallListener = (event: KmsCallEvent) => void | Promise<void>;

const lowerFirst = (name: string) => name.charAt(0).toLowerCase() + name.slice(1);

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** CloudTrail shows KMS timestamps in Java's default format, e.g. `Mar 20, 2023, 9:43:43 PM` (UTC). */
export function cloudTrailDate(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  const h = d.getUTCHours();
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()}, ${h % 12 === 0 ? 12 : h % 12}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${h < 12 ? 'AM' : 'PM'}`;
}

function sanitizeValue(model: CompactModel, shape: Shape, value: unknown): unknown {
  switch (shape.type) {
    case 'structure': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
      const source = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const member of shape.members) {
        const target = model.shapes.get(member.shape);
        const v = source[member.name];
        if (v === undefined || !target || target.type === 'blob' || target.sensitive) continue;
        const clean = sanitizeValue(model, target, v);
        if (clean !== undefined) out[lowerFirst(member.name)] = clean;
      }
      return out;
    }
    case 'list': {
      const member = model.shapes.get(shape.member);
      return Array.isArray(value) && member ? value.map((v) => sanitizeValue(model, member, v)) : undefined;
    }
    case 'map': {
      const member = model.shapes.get(shape.value);
      if (typeof value !== 'object' || value === null || !member) return undefined;
      return Object.fromEntries(
        Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, sanitizeValue(model, member, v)]),
      );
    }
    case 'timestamp':
      return typeof value === 'number' ? cloudTrailDate(value) : value;
    case 'blob':
      return undefined;
    default:
      return typeof value === 'object' ? undefined : value;
  }
}

/** A request or response of `operation`, as CloudTrail shows it; null when there is nothing to show. */
export function sanitizeParameters(
  model: CompactModel,
  operation: string,
  which: 'input' | 'output',
  value: unknown,
): Record<string, unknown> | null {
  const shapeName = model.operations.get(operation)?.[which];
  const shape = shapeName ? model.shapes.get(shapeName) : undefined;
  if (!shape) return null;
  const clean = sanitizeValue(model, shape, value);
  return clean && typeof clean === 'object' && Object.keys(clean).length > 0
    ? (clean as Record<string, unknown>)
    : null;
}
