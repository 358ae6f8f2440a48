/** Turns a request's SigV4 credentials into the Principal operations run as. */
import { createHash } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { AwsError, CORAL_SERVICE } from './aws-error.js';
import type { Principal } from './service.js';
import {
  checkCredentialScope,
  checkRequestTime,
  credentialRegion,
  parseSignature,
  type SignedRequest,
  type SignedRequestHead,
  verifyPayloadSignature,
} from './sigv4.js';

export type AuthRequest = SignedRequest;
export type AuthRequestHead = SignedRequestHead;

/**
 * A request that passed every check its headers allow, whose body is still arriving: the
 * signature is checked over the raw bytes (as sent, before any Content-Encoding is undone),
 * hashed chunk by chunk, so nothing of the body is parsed before it is known to be signed.
 */
export interface PendingAuthentication {
  update(chunk: Buffer): void;
  /** Checks the signature over the bytes hashed so far; throws an AwsError if it does not match. */
  finish(): Identity;
}

/** Who is calling and in which region. */
export interface Identity {
  readonly principal: Principal;
  /** From the SigV4 credential scope; undefined leaves the server's default region. */
  readonly region?: string;
}

export interface Authenticator {
  /** @param expectedService the signing name the credential scope must name, e.g. `dynamodb`. */
  authenticate(request: AuthRequest, expectedService: string): Identity;
  /**
   * Refuses from the headers alone what they can show (no or a malformed Authorization header, a
   * stale date, a wrong scope, an unknown key), before the body is read. Present only where a
   * body can be refused (strict auth); local auth reads the header after the body, as DynamoDB
   * orders its errors.
   */
  beginAuthentication?(head: AuthRequestHead, expectedService: string): PendingAuthentication;
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

  /**
   * The rest of the credential scope is not checked either (DynamoDB Local does not), except its
   * region: it selects the region the request acts in, so it must be a region name.
   */
  authenticate(request: AuthRequest, _expectedService?: string): Identity {
    const parsed = parseSignature(request);
    return { principal: rootPrincipal(this.defaultAccountId, parsed.accessKeyId), region: credentialRegion(parsed) };
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

  authenticate(request: AuthRequest, expectedService: string): Identity {
    const pending = this.beginAuthentication(request, expectedService);
    pending.update(request.body);
    return pending.finish();
  }

  beginAuthentication(head: AuthRequestHead, expectedService: string): PendingAuthentication {
    // In the Authorization header or, presigned, in the query string (sigv4.ts parseSignature).
    const parsed = parseSignature(head);
    // The order of checks follows DynamoDB's, so clients see the same first error.
    checkRequestTime(parsed, this.clock);
    checkCredentialScope(parsed, expectedService);
    const entry = this.#keys.get(parsed.accessKeyId);
    if (!entry) throw invalidToken('The security token included in the request is invalid.');
    const hash = createHash('sha256');
    return {
      update: (chunk) => {
        hash.update(chunk);
      },
      finish: () => {
        verifyPayloadSignature(parsed, head, hash.digest('hex'), entry.secretAccessKey, this.clock);
        // Only long-term keys are configured, so no session token can be valid (in a header or,
        // presigned, in X-Amz-Security-Token, which the signature covers as any query parameter).
        if (parsed.securityToken !== undefined) {
          throw invalidToken('The security token included in the request is invalid');
        }
        const principal =
          entry.userName !== undefined
            ? userPrincipal(entry.accountId, entry.userName, parsed.accessKeyId)
            : rootPrincipal(entry.accountId, parsed.accessKeyId);
        return { principal, region: parsed.region };
      },
    };
  }
}

/**
 * DynamoDB Local's `-sharedDb`: every caller acts in the one local account and the server's
 * default region, whatever its credentials and credential scope say. With strict auth the
 * signature is still verified first (a shared database is no reason to take unsigned or forged
 * requests), and the verified caller keeps its identity (root or user name, access key id, as
 * CloudTrail shows it) but is moved into the local account, so everyone sees the same tables,
 * keys and trail.
 */
export class SharedDbAuthenticator implements Authenticator {
  readonly beginAuthentication?: (head: AuthRequestHead, expectedService: string) => PendingAuthentication;

  /** @param verifier checks the signature (strict auth); without it any well-formed header is accepted. */
  constructor(private readonly verifier?: Authenticator) {
    if (verifier?.beginAuthentication) {
      const begin = verifier.beginAuthentication.bind(verifier);
      this.beginAuthentication = (head, expectedService) => {
        const pending = begin(head, expectedService);
        return { update: (chunk) => pending.update(chunk), finish: () => shared(pending.finish()) };
      };
    }
  }

  authenticate(request: AuthRequest, expectedService: string): Identity {
    if (!this.verifier) {
      // Like DynamoDB Local -sharedDb: the region is ignored, so any credential scope will do.
      return { principal: rootPrincipal(DEFAULT_ACCOUNT_ID, parseSignature(request).accessKeyId) };
    }
    return shared(this.verifier.authenticate(request, expectedService));
  }
}

/** A verified caller moved into the shared local account, keeping its user name and access key id. */
function shared({ principal }: Identity): Identity {
  return {
    principal:
      principal.type === 'IAMUser' && principal.userName !== undefined
        ? userPrincipal(DEFAULT_ACCOUNT_ID, principal.userName, principal.accessKeyId)
        : rootPrincipal(DEFAULT_ACCOUNT_ID, principal.accessKeyId),
  };
}
