/** Turns a request's SigV4 credentials into the Principal operations run as. */
import { createHash } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { AwsError, CORAL_SERVICE } from './aws-error.js';
import type { Principal } from './service.js';
import {
  checkCredentialScope,
  checkRequestTime,
  parseAuthorization,
  type SignedRequest,
  verifySignature,
} from './sigv4.js';

export type AuthRequest = SignedRequest;

export interface Authenticator {
  /** @param expectedService the signing name the credential scope must name, e.g. `dynamodb`. */
  authenticate(request: AuthRequest, expectedService: string): Principal;
}

export interface AccessKeyConfig {
  accessKeyId: string;
  secretAccessKey: string;
  /** Present for an IAM user's key; absent for the account root's key. */
  userName?: string;
}

export interface AccountConfig {
  accountId: string;
  accessKeys: AccessKeyConfig[];
}

export const DEFAULT_ACCOUNT_ID = '000000000000';

export function rootPrincipal(accountId: string, accessKeyId?: string): Principal {
  return {
    type: 'Root',
    accountId,
    arn: `arn:aws:iam::${accountId}:root`,
    principalId: accountId,
    ...(accessKeyId !== undefined ? { accessKeyId } : {}),
  };
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * IAM user ids look like `AIDA` + 17 base32 characters. Deriving them from
 * account and name keeps CloudTrail records stable across restarts.
 */
export function iamUserId(accountId: string, userName: string): string {
  const digest = createHash('sha256').update(`${accountId}/${userName}`, 'utf8').digest();
  let out = '';
  for (let i = 0; out.length < 17; i++) out += BASE32[(digest[i] as number) % 32];
  return `AIDA${out}`;
}

export function userPrincipal(accountId: string, userName: string, accessKeyId?: string): Principal {
  return {
    type: 'IAMUser',
    accountId,
    arn: `arn:aws:iam::${accountId}:user/${userName}`,
    principalId: iamUserId(accountId, userName),
    userName,
    ...(accessKeyId !== undefined ? { accessKeyId } : {}),
  };
}

/**
 * Like DynamoDB Local: a well-formed Authorization header is required, but
 * any key and signature is accepted and everyone acts as the one account's root.
 */
export class LocalAuthenticator implements Authenticator {
  constructor(private readonly defaultAccountId: string = DEFAULT_ACCOUNT_ID) {}

  /** The credential scope is not checked either: DynamoDB Local does not. */
  authenticate(request: AuthRequest, _expectedService?: string): Principal {
    const parsed = parseAuthorization(request.headers);
    return rootPrincipal(this.defaultAccountId, parsed.accessKeyId);
  }
}

interface KeyEntry {
  readonly accountId: string;
  readonly secretAccessKey: string;
  readonly userName?: string;
}

const invalidToken = (message: string) => new AwsError('UnrecognizedClientException', message, 400, CORAL_SERVICE);

/** Verifies every signature against configured access keys. */
export class StrictAuthenticator implements Authenticator {
  readonly #keys = new Map<string, KeyEntry>();

  constructor(
    accounts: readonly AccountConfig[],
    private readonly clock: Clock,
  ) {
    for (const account of accounts) {
      if (!/^\d{12}$/.test(account.accountId)) {
        throw new Error(`Account id must be 12 digits: '${account.accountId}'`);
      }
      for (const key of account.accessKeys) {
        // One key id naming two accounts would make the principal ambiguous.
        if (this.#keys.has(key.accessKeyId)) throw new Error(`Duplicate access key id: ${key.accessKeyId}`);
        this.#keys.set(key.accessKeyId, {
          accountId: account.accountId,
          secretAccessKey: key.secretAccessKey,
          ...(key.userName !== undefined ? { userName: key.userName } : {}),
        });
      }
    }
  }

  authenticate(request: AuthRequest, expectedService: string): Principal {
    const parsed = parseAuthorization(request.headers);
    // The order of checks follows DynamoDB's, so clients see the same first error.
    checkRequestTime(parsed, this.clock);
    checkCredentialScope(parsed, expectedService);
    const entry = this.#keys.get(parsed.accessKeyId);
    if (!entry) throw invalidToken('The security token included in the request is invalid.');
    verifySignature(parsed, request, entry.secretAccessKey, this.clock);
    // Only long-term keys are configured, so no session token can be valid.
    if (parsed.securityToken !== undefined) throw invalidToken('The security token included in the request is invalid');
    return entry.userName !== undefined
      ? userPrincipal(entry.accountId, entry.userName, parsed.accessKeyId)
      : rootPrincipal(entry.accountId, parsed.accessKeyId);
  }
}
