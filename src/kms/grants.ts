/**
 * Grants: who they admit, which constraints bind them, and the tokens CreateGrant hands out.
 * sealdb grants take effect at once; tokens exist for API compatibility and for RetireGrant.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Principal } from '../http/service.js';
import { invalidGrantToken } from './errors.js';
import { awsPrincipalMatches } from './policy.js';
import type { EncryptionContext, GrantConstraints, GrantRecord } from './types.js';

/** Operations that take an encryption context; constraints bind only these. */
const CONTEXT_OPERATIONS = new Set([
  'Encrypt',
  'Decrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'ReEncryptFrom',
  'ReEncryptTo',
]);

/** Grant operations that make no sense with an encryption context constraint. */
const NO_CONSTRAINT_OPERATIONS = new Set([
  'Sign',
  'Verify',
  'GetPublicKey',
  'GenerateMac',
  'VerifyMac',
  'DeriveSharedSecret',
]);

export const grantOperationAcceptsConstraints = (operation: string): boolean =>
  !NO_CONSTRAINT_OPERATIONS.has(operation);

export function constraintsSatisfied(
  constraints: GrantConstraints | undefined,
  context: EncryptionContext | undefined,
): boolean {
  const actual = context ?? {};
  const subset = constraints?.EncryptionContextSubset;
  if (subset && !Object.entries(subset).every(([k, v]) => Object.hasOwn(actual, k) && actual[k] === v)) return false;
  const equals = constraints?.EncryptionContextEquals;
  if (equals) {
    const expected = Object.entries(equals);
    if (expected.length !== Object.keys(actual).length) return false;
    if (!expected.every(([k, v]) => Object.hasOwn(actual, k) && actual[k] === v)) return false;
  }
  return true;
}

/** Whether `grant` lets `principal` perform `operation` (with `context`, for operations that take one). */
export function grantAllows(
  grant: GrantRecord,
  principal: Principal,
  operation: string,
  context: EncryptionContext | undefined,
): boolean {
  if (!grant.operations.includes(operation)) return false;
  if (!awsPrincipalMatches(grant.granteePrincipal, principal)) return false;
  return !CONTEXT_OPERATIONS.has(operation) || constraintsSatisfied(grant.constraints, context);
}

/**
 * A grantee holding CreateGrant may pass on no more than it holds: a subset of its operations under
 * constraints at least as strict as its own.
 */
export function grantMayCreate(
  parent: GrantRecord,
  operations: readonly string[],
  constraints: GrantConstraints | undefined,
): boolean {
  if (!operations.every((op) => parent.operations.includes(op))) return false;
  const p = parent.constraints;
  if (p?.EncryptionContextEquals) {
    const eq = constraints?.EncryptionContextEquals;
    return eq !== undefined && sameContext(eq, p.EncryptionContextEquals);
  }
  if (p?.EncryptionContextSubset) {
    const required = p.EncryptionContextSubset;
    const child = constraints?.EncryptionContextEquals ?? constraints?.EncryptionContextSubset;
    return child !== undefined && Object.entries(required).every(([k, v]) => child[k] === v);
  }
  return true;
}

function sameContext(a: EncryptionContext, b: EncryptionContext): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

const TOKEN_VERSION = 1;
const NONCE_BYTES = 16;
const MAC_BYTES = 16;

/**
 * Tokens are self-describing and authenticated: version | grant id (32 bytes) | nonce | MAC, base64url.
 * Each CreateGrant gets a fresh nonce, so tokens are unique even when a named grant is returned again.
 */
export class GrantTokenCodec {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    this.#key = key;
  }

  issue(grantId: string): string {
    const body = Buffer.concat([Buffer.of(TOKEN_VERSION), Buffer.from(grantId, 'hex'), randomBytes(NONCE_BYTES)]);
    return Buffer.concat([body, this.#mac(body)]).toString('base64url');
  }

  /** The grant id a token names; InvalidGrantTokenException for anything we did not issue. */
  verify(token: string): string {
    const raw = Buffer.from(token, 'base64url');
    if (raw.length !== 1 + 32 + NONCE_BYTES + MAC_BYTES || raw[0] !== TOKEN_VERSION) throw invalidGrantToken();
    const body = raw.subarray(0, raw.length - MAC_BYTES);
    if (!timingSafeEqual(raw.subarray(raw.length - MAC_BYTES), this.#mac(body))) throw invalidGrantToken();
    return body.subarray(1, 33).toString('hex');
  }

  destroy(): void {
    this.#key.fill(0);
  }

  #mac(body: Buffer): Buffer {
    return createHmac('sha256', this.#key).update(body).digest().subarray(0, MAC_BYTES);
  }
}
