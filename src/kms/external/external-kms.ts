/**
 * Table keys from an external AWS-KMS-compatible service (AWS KMS itself, or another sealdb),
 * through @aws-sdk/client-kms: the calls DynamoDB makes, with its encryption context, signed with
 * sealdb's own credentials from the SDK's default chain (environment, shared config and
 * credentials files, SSO, container and instance metadata), one client per table region.
 *
 * Each call is classified: a transient failure (unreachable, throttled, 5xx, timeout) starts or
 * continues an outage, which TableKeyService rides out from cached keys; any answer of the KMS,
 * even an error of its own such as DisabledException, ends it. Each call is also handed to
 * `onCall` (sealdb's own trail records it) with the external request id, the key, the encryption
 * context and the outcome, so an operator can match it with the external service's CloudTrail.
 */
import {
  CreateGrantCommand,
  DecryptCommand,
  DescribeKeyCommand,
  GenerateDataKeyCommand,
  KMSClient,
  type KMSClientConfig,
  RetireGrantCommand,
} from '@aws-sdk/client-kms';
import type { Clock } from '../../core/clock.js';
import { KeyAccessError, toKeyAccessError } from '../../encryption/key-access-error.js';
import type { KmsOutage } from '../../encryption/kms-outage.js';
import type { TableKms, TableKmsCaller, TableKmsOperation } from '../../encryption/table-kms.js';
import { type CompactModel, loadModel } from '../../validation/model.js';
import { type KmsCallEvent, sanitizeParameters } from '../audit.js';
import modelJson from '../model.json' with { type: 'json' };

const model: CompactModel = loadModel(modelJson);

export interface ExternalKmsOptions {
  /** e.g. `https://kms.eu-west-1.amazonaws.com` or `http://127.0.0.1:8001`; undefined = the SDK's regional endpoint. */
  readonly endpoint: string | undefined;
  readonly clock: Clock;
  readonly outage: KmsOutage;
  /**
   * The key of tables that ask for DynamoDB's AWS managed key (SSEType KMS without a key id).
   * AWS KMS lets only DynamoDB itself use `alias/aws/dynamodb`, so against AWS name a customer
   * managed key here; without one the predefined alias is asked for (another sealdb allows it only
   * through its own DynamoDB too, so CreateTable fails with the KMS's AccessDeniedException).
   */
  readonly defaultKeyId?: string;
  /** Explicit credentials (tests); otherwise the SDK's default provider chain. */
  readonly credentials?: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
  };
  /** Per attempt; the SDK retries transient failures (`maxAttempts`) before one counts. */
  readonly timeoutMs?: number;
  readonly maxAttempts?: number;
  /** Told about every call, success or failure, after it completes. */
  readonly onCall?: (event: KmsCallEvent) => void | Promise<void>;
}

const READ_ONLY: Record<TableKmsOperation, boolean> = {
  DescribeKey: true,
  CreateGrant: false,
  GenerateDataKey: true,
  Decrypt: true,
  RetireGrant: false,
};

/** Error names that say "try again later", whatever the HTTP status (AWS KMS: 500/503 or 400 throttling). */
const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'KMSInternalException',
  'DependencyTimeoutException',
  'KeyUnavailableException',
  'InternalFailure',
  'ServiceUnavailable',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

/** Node network errors: the KMS was never reached or the connection broke. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
]);

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  cause?: unknown;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

/** True when the failure says nothing about the key: the KMS could not answer now. */
export function isTransient(error: unknown): boolean {
  const e = (error ?? {}) as SdkError;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  if (e.name !== undefined && TRANSIENT_NAMES.has(e.name)) return true;
  const codes = [e.code, (e.cause as SdkError | undefined)?.code, ...aggregateCodes(e)];
  if (codes.some((code) => code !== undefined && NETWORK_CODES.has(code))) return true;
  // A response that never came (no HTTP status at all) and is not a configuration error.
  return status === undefined && e.$fault === undefined && e.name !== 'CredentialsProviderError' && isNetworkLike(e);
}

function aggregateCodes(e: SdkError): (string | undefined)[] {
  const errors = (e as { errors?: unknown[] }).errors;
  return Array.isArray(errors) ? errors.map((inner) => (inner as SdkError).code) : [];
}

const isNetworkLike = (e: SdkError): boolean =>
  /socket hang up|connect|network|timed? ?out|getaddrinfo/i.test(`${e.message ?? ''} ${e.code ?? ''}`);

export class ExternalKms implements TableKms {
  readonly kind = 'external' as const;
  readonly #clients = new Map<string, KMSClient>();

  constructor(private readonly options: ExternalKmsOptions) {}

  get endpoint(): string {
    return this.options.endpoint ?? 'the AWS KMS endpoint of each table region';
  }

  managedKeyId(): string {
    return this.options.defaultKeyId ?? 'alias/aws/dynamodb';
  }

  grantPrincipal(_viaService: string, keyAccountId: string | undefined): string {
    // sealdb signs with its own credentials: the key's account may retire the grant (CreateGrant's issuing account).
    return keyAccountId ? `arn:aws:iam::${keyAccountId}:root` : _viaService;
  }

  async call(
    operation: TableKmsOperation,
    input: Record<string, unknown>,
    caller: TableKmsCaller,
  ): Promise<Record<string, unknown>> {
    const client = this.#client(caller.region);
    let output: Record<string, unknown> | undefined;
    let failure: unknown;
    try {
      output = asBuffers((await client.send(command(operation, input) as never)) as unknown as Record<string, unknown>);
      this.options.outage.answered();
      return output;
    } catch (error) {
      failure = error;
      const e = error as SdkError;
      const requestId = e.$metadata?.requestId ?? caller.requestId;
      if (isTransient(error)) {
        const reason = describeFailure(e);
        this.options.outage.transientFailure(reason);
        throw new KeyAccessError(
          transientCode(e),
          `${reason} (external KMS ${this.endpoint}, ${operation})${this.#graceNote()}`,
          requestId,
          false,
          true,
        );
      }
      this.options.outage.answered();
      if (e.name === 'CredentialsProviderError') {
        throw new KeyAccessError(
          'AccessDeniedException',
          `sealdb has no credentials for the external KMS ${this.endpoint}: ${e.message ?? ''} ` +
            '(set them as for any AWS SDK: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ...)',
          requestId,
          false,
        );
      }
      // The external service's request id, which its CloudTrail shows, in DynamoDB's error message.
      throw toKeyAccessError(error, requestId);
    } finally {
      await this.#record(operation, input, caller, output, failure);
    }
  }

  close(): void {
    for (const client of this.#clients.values()) client.destroy();
    this.#clients.clear();
  }

  #graceNote(): string {
    const state = this.options.outage.state();
    if (state.since === undefined) return '';
    const since = new Date(state.since).toISOString();
    const ends = new Date(state.graceEndsAt ?? state.since).toISOString();
    return this.options.outage.withinGrace()
      ? `; unreachable since ${since}, cached table keys are used until ${ends}`
      : `; unreachable since ${since}, the grace period of cached table keys ended at ${ends}`;
  }

  #client(region: string): KMSClient {
    let client = this.#clients.get(region);
    if (!client) {
      const timeout = this.options.timeoutMs ?? 5000;
      const config: KMSClientConfig = {
        region,
        ...(this.options.endpoint ? { endpoint: this.options.endpoint } : {}),
        ...(this.options.credentials ? { credentials: { ...this.options.credentials } } : {}),
        maxAttempts: this.options.maxAttempts ?? 2,
        requestHandler: { connectionTimeout: timeout, requestTimeout: timeout },
      };
      client = new KMSClient(config);
      this.#clients.set(region, client);
    }
    return client;
  }

  async #record(
    operation: TableKmsOperation,
    input: Record<string, unknown>,
    caller: TableKmsCaller,
    output: Record<string, unknown> | undefined,
    failure: unknown,
  ): Promise<void> {
    if (!this.options.onCall) return;
    const e = (failure ?? {}) as SdkError;
    const externalRequestId = output
      ? (output.$metadata as SdkError['$metadata'])?.requestId
      : (e.$metadata?.requestId ?? undefined);
    const keyId = (output?.KeyMetadata as { Arn?: string } | undefined)?.Arn ?? (output?.KeyId as string | undefined);
    const event: KmsCallEvent = {
      eventName: operation,
      eventTime: this.options.clock.now(),
      // The external service's id when it answered: the same requestID its CloudTrail shows.
      requestId: externalRequestId ?? caller.requestId,
      region: caller.region,
      principal: caller.principal,
      invokedBy: caller.invokedBy,
      viaService: caller.viaService,
      sourceIp: caller.sourceIp,
      userAgent: caller.userAgent,
      readOnly: READ_ONLY[operation],
      // The key is of the external service's account: named, not delivered to a trail here.
      resources: [],
      keyOwnerAccountId: caller.principal.accountId,
      requestParameters: sanitizeParameters(model, operation, 'input', input),
      responseElements: output ? sanitizeParameters(model, operation, 'output', output) : null,
      additionalEventData: {
        externalKms: this.options.endpoint ?? 'aws',
        ...(keyId ? { keyArn: keyId } : {}),
        ...(externalRequestId ? { externalRequestId } : { sealdbRequestId: caller.requestId }),
        outcome: failure === undefined ? 'success' : isTransient(failure) ? 'unreachable' : 'error',
      },
      ...(failure !== undefined
        ? { errorCode: transientOrName(e), errorMessage: (e.message ?? String(failure)).slice(0, 1024) }
        : {}),
    };
    await this.options.onCall(event);
  }
}

/** The SDK's blobs are Uint8Arrays; TableKeyService wants Buffers (views, so zeroing one zeroes the bytes). */
function asBuffers(output: Record<string, unknown>): Record<string, unknown> {
  const out = { ...output };
  for (const name of ['Plaintext', 'CiphertextBlob']) {
    const value = out[name];
    if (value instanceof Uint8Array && !Buffer.isBuffer(value)) {
      out[name] = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    }
  }
  return out;
}

function command(operation: TableKmsOperation, input: Record<string, unknown>): unknown {
  switch (operation) {
    case 'DescribeKey':
      return new DescribeKeyCommand(input as never);
    case 'CreateGrant':
      return new CreateGrantCommand(input as never);
    case 'GenerateDataKey':
      return new GenerateDataKeyCommand(input as never);
    case 'Decrypt':
      return new DecryptCommand(input as never);
    case 'RetireGrant':
      return new RetireGrantCommand(input as never);
  }
}

function describeFailure(e: SdkError): string {
  const status = e.$metadata?.httpStatusCode;
  const code = e.code ?? (e.cause as SdkError | undefined)?.code ?? aggregateCodes(e).find(Boolean);
  if (status !== undefined) return `the external KMS answered ${status} ${e.name ?? ''}: ${e.message ?? ''}`.trim();
  return `the external KMS could not be reached (${code ?? e.name ?? 'error'}${e.message ? `: ${e.message}` : ''})`;
}

/** A KMS exception name for the DynamoDB error message: throttling as such, anything else a dependency timeout. */
function transientCode(e: SdkError): string {
  if (e.name && e.$metadata?.httpStatusCode !== undefined && TRANSIENT_NAMES.has(e.name)) return e.name;
  if (e.$metadata?.httpStatusCode === 429) return 'ThrottlingException';
  // KMS's own word for "the system timed out ... You can retry the request" (HTTP 503).
  return 'DependencyTimeoutException';
}

const transientOrName = (e: SdkError): string => (isTransient(e) ? transientCode(e) : (e.name ?? 'Error'));
