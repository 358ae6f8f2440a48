/**
 * The KMS service: one path for remote (JSON 1.1) and in-process calls, so both get the same
 * model validation, key lifecycle, policy, grants and audit record.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { Scope } from '../core/scope.js';
import type { RootOfTrust } from '../encryption/root-of-trust.js';
import { AwsError } from '../http/aws-error.js';
import type { CallContext, Principal, ServiceHandler } from '../http/service.js';
import type { Durability } from '../storage/wal-sync.js';
import { checkInput } from '../validation/checker.js';
import { type CompactModel, loadModel } from '../validation/model.js';
import { type KmsCallEvent, type KmsCallListener, sanitizeParameters } from './audit.js';
import { type AwsManagedService, ensureAwsManagedKey } from './aws-managed.js';
import { internalError, unsupported } from './errors.js';
import { GrantTokenCodec } from './grants.js';
import { keyArn } from './key-ids.js';
import { KeyMaterialVault } from './key-material.js';
import { type KeyStore, openKeyStore } from './key-store.js';
import { sweep } from './lifecycle.js';
import modelJson from './model.json' with { type: 'json' };
import { type AnyKmsOperation, type Caller, CallScope, type KmsEnvironment } from './operation.js';
import { operations } from './operations/index.js';

const model: CompactModel = loadModel(modelJson);
const OPERATIONS: ReadonlyMap<string, AnyKmsOperation> = new Map(operations.map((op) => [op.name, op]));
const GRANT_TOKEN_PURPOSE = 'sealdb/kms-grant-tokens/v1';

/** Who makes an in-process call and on whose behalf; audited exactly like a remote caller. */
export interface InternalCaller {
  principal: Principal;
  /** The region whose KMS is called (DynamoDB: the table's); default: the server's region. */
  region?: string;
  /** `kms:ViaService`, e.g. `dynamodb.us-east-1.amazonaws.com`. */
  viaService?: string;
  /** CloudTrail `invokedBy`, e.g. `dynamodb.amazonaws.com`. */
  invokedBy?: string;
  /** Defaults to `invokedBy`, as CloudTrail shows a service's calls. */
  sourceIp?: string;
  /** Defaults to `invokedBy`. */
  userAgent?: string;
  /** Defaults to a new UUID. */
  requestId?: string;
}

export interface KmsServiceOptions {
  root: RootOfTrust;
  /** undefined = in memory. */
  dataDir?: string;
  clock: Clock;
  /** The default region, for in-process calls that name none. */
  region: string;
  durability?: Durability;
  /**
   * Where keys are kept: absent, the encrypted SQLite file under `dataDir`; with engine storage,
   * the engine's store (storage/postgres/pg-key-store.ts), shared by every node.
   */
  store?: KeyStore;
  /**
   * Runs a call's work against the store: at once for the embedded file; as one retried
   * SERIALIZABLE unit of work over the engine (whose store calls answer only inside one). The
   * work may run more than once, so it keeps its effects in the store (and the caches it fills).
   */
  runUnit?: <T>(work: () => Promise<T>) => Promise<T>;
}

const runAtOnce = <T>(work: () => Promise<T>): Promise<T> => work();

interface Origin {
  readonly caller: Caller;
  /** Keys, aliases and the audit record are of this region. */
  readonly region: string;
  readonly invokedBy?: string;
  readonly sourceIp: string;
  readonly userAgent: string;
  readonly requestId: string;
}

type Mode = 'wire' | 'internal';

const isBytes = (value: unknown): value is Uint8Array => value instanceof Uint8Array;
const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Top-level blob members of an operation's input (Plaintext, CiphertextBlob). */
function blobMembers(operation: string): string[] {
  const inputName = model.operations.get(operation)?.input;
  const shape = inputName ? model.shapes.get(inputName) : undefined;
  if (shape?.type !== 'structure') return [];
  return shape.members.filter((m) => model.shapes.get(m.shape)?.type === 'blob').map((m) => m.name);
}

/** Buffers become base64 for JSON; the decoded copies are zeroed once encoded. */
function toWire(value: unknown): unknown {
  if (isBytes(value)) {
    const text = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
    value.fill(0);
    return text;
  }
  if (Array.isArray(value)) return value.map(toWire);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toWire(v)]));
  }
  return value;
}

const READ_ONLY_PREFIXES = ['Describe', 'Get', 'List'];

export class KmsServiceImpl {
  readonly handler: ServiceHandler;
  readonly #env: KmsEnvironment;
  /** The environment of each region a call has named (keys are per account and region, as in AWS). */
  readonly #regions = new Map<string, KmsEnvironment>();
  readonly #store: KeyStore;
  readonly #vault: KeyMaterialVault;
  readonly #grantTokens: GrantTokenCodec;
  readonly #listeners: KmsCallListener[] = [];
  readonly #runUnit: <T>(work: () => Promise<T>) => Promise<T>;
  #closed = false;

  constructor(options: KmsServiceOptions) {
    this.#store = options.store ?? openKeyStore(options.root, options.dataDir, options.durability);
    this.#runUnit = options.runUnit ?? runAtOnce;
    this.#vault = new KeyMaterialVault(options.root, this.#store);
    this.#grantTokens = new GrantTokenCodec(options.root.deriveKey(GRANT_TOKEN_PURPOSE));
    this.#env = {
      store: this.#store,
      vault: this.#vault,
      grantTokens: this.#grantTokens,
      clock: options.clock,
      region: options.region,
    };
    // The engine's store is read only inside a unit: there the first call's sweep does this.
    if (!options.runUnit) sweep(this.#env);
    this.handler = {
      targetPrefix: 'TrentService',
      contentType: 'application/x-amz-json-1.1',
      signingName: 'kms',
      hasOperation: (operation) => model.operations.has(operation),
      internalError,
      dispatch: (operation, input, ctx) => this.#dispatch(operation, input, ctx),
    };
  }

  call(operation: string, input: Record<string, unknown>, caller: InternalCaller): Promise<Record<string, unknown>> {
    const origin: Origin = {
      caller: { principal: caller.principal, ...(caller.viaService ? { viaService: caller.viaService } : {}) },
      region: caller.region ?? this.#env.region,
      ...(caller.invokedBy ? { invokedBy: caller.invokedBy } : {}),
      sourceIp: caller.sourceIp ?? caller.invokedBy ?? 'internal',
      userAgent: caller.userAgent ?? caller.invokedBy ?? 'sealdb-internal',
      requestId: caller.requestId ?? randomUUID(),
    };
    return this.#run(operation, input, origin, 'internal');
  }

  onCall(listener: KmsCallListener): void {
    this.#listeners.push(listener);
  }

  /** The account's AWS managed key for a service in a region (created on first use), as a key ARN. */
  async ensureAwsManagedKey(scope: Scope, service: AwsManagedService): Promise<string> {
    const key = await this.#runUnit(async () =>
      ensureAwsManagedKey(this.#inRegion(scope.region), scope.accountId, service),
    );
    return keyArn(key.region, key.accountId, key.keyId);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#vault.close();
    this.#grantTokens.destroy();
    this.#store.close();
  }

  #inRegion(region: string): KmsEnvironment {
    let env = this.#regions.get(region);
    if (!env) {
      env = region === this.#env.region ? this.#env : { ...this.#env, region };
      this.#regions.set(region, env);
    }
    return env;
  }

  #dispatch(operation: string, input: Record<string, unknown>, ctx: CallContext): Promise<unknown> {
    return this.#run(
      operation,
      input,
      {
        caller: { principal: ctx.principal },
        region: ctx.region,
        sourceIp: ctx.sourceIp,
        userAgent: ctx.userAgent,
        requestId: ctx.requestId,
      },
      'wire',
    );
  }

  async #run(
    operation: string,
    raw: Record<string, unknown>,
    origin: Origin,
    mode: Mode,
  ): Promise<Record<string, unknown>> {
    let scope = new CallScope();
    const decoded: Buffer[] = [];
    let output: object | undefined;
    let failure: unknown;
    try {
      if (this.#closed) throw internalError();
      const op = OPERATIONS.get(operation);
      if (!op) {
        if (!model.operations.has(operation)) {
          throw new AwsError('UnknownOperationException', `${operation} is not an operation of TrentService.`, 400);
        }
        throw unsupported(`${operation} is not supported by sealdb.`);
      }
      const input = mode === 'wire' ? this.#wireInput(operation, raw, decoded) : this.#internalInput(operation, raw);
      const env = this.#inRegion(origin.region);
      output = await this.#runUnit(async () => {
        // Each run of the unit starts afresh: what an earlier run touched (a key it created and
        // then discarded) is not the call's.
        scope = new CallScope();
        sweep(this.#env);
        return op.execute({ input: input as never, caller: origin.caller, env, scope });
      });
    } catch (error) {
      failure = error;
    }
    try {
      await this.#audit(operation, raw, output, failure, origin, scope);
    } finally {
      for (const b of decoded) b.fill(0);
    }
    if (failure !== undefined) throw failure;
    return (mode === 'wire' ? toWire(output ?? {}) : (output ?? {})) as Record<string, unknown>;
  }

  /** Model check on the JSON, then base64 blobs decoded to Buffers (zeroed after the call). */
  #wireInput(operation: string, raw: Record<string, unknown>, decoded: Buffer[]): Record<string, unknown> {
    const input = checkInput(model, operation, raw);
    for (const name of blobMembers(operation)) {
      const value = input[name];
      if (typeof value === 'string') {
        const bytes = Buffer.from(value, 'base64');
        decoded.push(bytes);
        input[name] = bytes;
      }
    }
    return input;
  }

  /**
   * In-process blobs may be Buffers (preferred: they can be zeroed) or base64 strings. Buffers are
   * checked through a zero-filled stand-in of the same length, so the limits apply exactly as on
   * the wire without the secret ever becoming a string.
   */
  #internalInput(operation: string, raw: Record<string, unknown>): Record<string, unknown> {
    const blobs = new Map<string, Buffer>();
    const forCheck: Record<string, unknown> = { ...raw };
    for (const name of blobMembers(operation)) {
      const value = raw[name];
      if (isBytes(value)) {
        blobs.set(name, asBuffer(value));
        forCheck[name] = Buffer.alloc(value.byteLength).toString('base64');
      }
    }
    const input = checkInput(model, operation, forCheck);
    for (const name of blobMembers(operation)) {
      const original = blobs.get(name);
      if (original) input[name] = original;
      else if (typeof input[name] === 'string') input[name] = Buffer.from(input[name] as string, 'base64');
    }
    return input;
  }

  async #audit(
    operation: string,
    raw: Record<string, unknown>,
    output: object | undefined,
    failure: unknown,
    origin: Origin,
    scope: CallScope,
  ): Promise<void> {
    if (this.#listeners.length === 0) return;
    const op = OPERATIONS.get(operation);
    const readOnly = op?.readOnly ?? READ_ONLY_PREFIXES.some((p) => operation.startsWith(p));
    const known = model.operations.has(operation);
    const error = failure instanceof AwsError ? failure : failure !== undefined ? internalError() : undefined;
    const event: KmsCallEvent = {
      eventName: operation,
      eventTime: this.#env.clock.now(),
      requestId: origin.requestId,
      region: origin.region,
      principal: origin.caller.principal,
      ...(origin.invokedBy ? { invokedBy: origin.invokedBy } : {}),
      ...(origin.caller.viaService ? { viaService: origin.caller.viaService } : {}),
      sourceIp: origin.sourceIp,
      userAgent: origin.userAgent,
      readOnly,
      resources: [...scope.resources],
      keyOwnerAccountId: scope.resources[0]?.accountId ?? origin.caller.principal.accountId,
      requestParameters: op?.auditRequestParameters
        ? op.auditRequestParameters(raw)
        : known
          ? sanitizeParameters(model, operation, 'input', raw)
          : null,
      responseElements:
        readOnly || output === undefined || !known
          ? null
          : op?.auditResponseElements
            ? op.auditResponseElements(output)
            : sanitizeParameters(model, operation, 'output', output),
      ...(scope.additionalEventData ? { additionalEventData: scope.additionalEventData } : {}),
      ...(error ? { errorCode: error.code, ...(error.hasMessage ? { errorMessage: error.message } : {}) } : {}),
    };
    for (const listener of this.#listeners) {
      try {
        await listener(event);
      } catch (listenerError) {
        // Fail closed: no KMS call answers without its audit record (e.g. on a full disk).
        console.error(`kms: audit listener failed for ${operation}: ${(listenerError as Error).message}`);
        throw internalError();
      }
    }
  }
}
