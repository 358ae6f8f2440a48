/**
 * sealdb's KMS: a KMS-compatible key service on the shared port (`TrentService.*`), and the same
 * service in process for DynamoDB.
 *
 * Binary members on the in-process path (`call`): inputs (`Plaintext`, `CiphertextBlob`) may be
 * Buffers/Uint8Arrays (preferred: the caller can zero them) or base64 strings; outputs
 * (`Plaintext`, `CiphertextBlob`) are always Buffers, which the caller owns and should zero.
 * Timestamps are epoch seconds on both paths, as on the wire.
 */
import type { Scope } from '../core/scope.js';
import type { ServiceHandler } from '../http/service.js';
import type { KmsCallEvent } from './audit.js';
import type { AwsManagedService } from './aws-managed.js';
import { type InternalCaller, KmsServiceImpl, type KmsServiceOptions } from './service.js';

export type { KmsCallEvent, KmsCallListener } from './audit.js';
export type { AwsManagedService } from './aws-managed.js';
export { keyArn } from './key-ids.js';
export type { AuditResource } from './operation.js';
export type { InternalCaller, KmsServiceOptions } from './service.js';

export interface KmsService {
  /** Mounted on the shared port. */
  readonly handler: ServiceHandler;
  /** In-process client for internal callers (DynamoDB, issue #4): same validation, policy, grants, audit as remote calls. */
  call<O extends string>(
    operation: O,
    input: Record<string, unknown>,
    caller: InternalCaller,
  ): Promise<Record<string, unknown>>;
  /**
   * Audit hook for issue #5: called once per KMS call, success or failure, after it completes and
   * before the response is sent. Events never carry plaintext, ciphertext or key material.
   * A listener that throws fails the call with KMSInternalException: no call answers without its record.
   */
  onCall(listener: (event: KmsCallEvent) => void | Promise<void>): void;
  /**
   * The account's AWS managed key for a service (`alias/aws/dynamodb`) in a region, created on
   * first use with KeyManager AWS and its fixed policy; returns the key ARN. Not itself an audited KMS call.
   */
  ensureAwsManagedKey(scope: Scope, service: AwsManagedService): Promise<string>;
  /** Closes the store and zeroes cached key material. */
  close(): void;
}

export function createKmsService(options: KmsServiceOptions): KmsService {
  return new KmsServiceImpl(options);
}
