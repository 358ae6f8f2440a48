/** The contract between the HTTP layer and each AWS service sealdb speaks. */
import type { CheckVerdict, ModelCheck } from '../validation/off-thread.js';
import type { AwsError } from './aws-error.js';

export type PrincipalType = 'Root' | 'IAMUser' | 'AWSService';

/** Who is calling: resolved by src/http/auth from the SigV4 credentials. */
export interface Principal {
  readonly type: PrincipalType;
  /** The 12-digit account the caller belongs to. */
  readonly accountId: string;
  /** e.g. `arn:aws:iam::000000000000:root` or `arn:aws:iam::111122223333:user/alice`. */
  readonly arn: string;
  readonly principalId: string;
  readonly accessKeyId?: string;
  /** For user principals, the user name (CloudTrail `Username`). */
  readonly userName?: string;
}

/** Everything an operation may know about the request that carries it. */
export interface CallContext {
  readonly requestId: string;
  /** Unique per TCP connection for the life of the server; keys per-connection caches. */
  readonly connectionId: number;
  readonly principal: Principal;
  readonly region: string;
  readonly sourceIp: string;
  readonly userAgent: string;
}

/** One AWS JSON-protocol service mounted on the shared port. */
export interface ServiceHandler {
  /** `X-Amz-Target` prefix before the final `.`, e.g. `DynamoDB_20120810`. */
  readonly targetPrefix: string;
  /** Response content type, e.g. `application/x-amz-json-1.0`. */
  readonly contentType: string;
  /** SigV4 service name in the credential scope, e.g. `dynamodb`. */
  readonly signingName: string;
  /** Namespace for protocol-level errors (UnknownOperation, Serialization) or undefined for bare types. */
  readonly protocolErrorNamespace?: string;
  hasOperation(operation: string): boolean;
  /** Whether the service's API has the operation, implemented or not (words UnknownOperationException). */
  modelHasOperation?(operation: string): boolean;
  /** What the service answers when something unexpected fails (never for client mistakes). */
  internalError(): AwsError;
  /**
   * The model check the service runs first (checkInput), lent to the worker that parses large
   * bodies: a huge request is then checked off the main thread (validation/off-thread.ts).
   */
  readonly offThreadCheck?: ModelCheck;
  /**
   * Runs an operation; throws AwsError for client mistakes. With a verdict, the input was
   * already model-checked (the checked input itself, or the verdict's error is the answer).
   */
  dispatch(
    operation: string,
    input: Record<string, unknown>,
    ctx: CallContext,
    verdict?: CheckVerdict,
  ): Promise<unknown>;
}

/**
 * A response some of whose members are already JSON text (an item exactly as stored), spliced in
 * verbatim rather than parsed and serialised again on the way out.
 */
export class PartlySerialized {
  constructor(
    /**
     * Member name → its value as JSON text, or as that text's UTF-8 bytes (a stored item body,
     * which then goes out without being decoded to a string and encoded again).
     */
    readonly raw: Readonly<Record<string, string | Buffer>>,
    /** The other members, serialised as usual. */
    readonly rest: Readonly<Record<string, unknown>> = {},
  ) {}

  toJsonText(): string {
    return this.toJsonBytes().toString('utf8');
  }

  /** The whole response body as UTF-8 bytes, assembled in one Buffer. */
  toJsonBytes(): Buffer {
    const parts: Buffer[] = [];
    let open = '{';
    for (const [name, value] of Object.entries(this.raw)) {
      parts.push(Buffer.from(`${open}${JSON.stringify(name)}:`, 'utf8'));
      parts.push(typeof value === 'string' ? Buffer.from(value, 'utf8') : value);
      open = ',';
    }
    const rest = JSON.stringify(this.rest);
    // `open` is still '{' when there was no raw member: then the tail is the whole object.
    const tail = rest === '{}' ? (open === '{' ? '{}' : '}') : `${open}${rest.slice(1)}`;
    parts.push(Buffer.from(tail, 'utf8'));
    return Buffer.concat(parts);
  }
}
