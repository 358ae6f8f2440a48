/** The shape of one KMS operation and what it runs against. */
import type { Clock } from '../core/clock.js';
import type { Principal } from '../http/service.js';
import type { GrantTokenCodec } from './grants.js';
import { keyArn } from './key-ids.js';
import type { KeyMaterialVault } from './key-material.js';
import type { KeyStore } from './key-store.js';
import type { KeyRecord } from './types.js';

export interface KmsEnvironment {
  readonly store: KeyStore;
  readonly vault: KeyMaterialVault;
  readonly grantTokens: GrantTokenCodec;
  readonly clock: Clock;
  /** The region of the call: only its keys and aliases are visible (as in AWS). */
  readonly region: string;
}

/** Who is calling, as policy evaluation sees it. */
export interface Caller {
  readonly principal: Principal;
  /** `kms:ViaService`, set only for in-process calls made on a principal's behalf (e.g. by DynamoDB). */
  readonly viaService?: string;
}

export interface AuditResource {
  readonly ARN: string;
  readonly accountId: string;
  readonly type: 'AWS::KMS::Key';
}

/** What an operation learns during the call that the audit record needs, even if the call fails. */
export class CallScope {
  readonly resources: AuditResource[] = [];
  additionalEventData?: Record<string, unknown>;

  touch(key: KeyRecord, region: string): string {
    const arn = keyArn(region, key.accountId, key.keyId);
    if (!this.resources.some((r) => r.ARN === arn)) {
      this.resources.push({ ARN: arn, accountId: key.accountId, type: 'AWS::KMS::Key' });
    }
    return arn;
  }
}

export interface OperationRequest<I> {
  readonly input: I;
  readonly caller: Caller;
  readonly env: KmsEnvironment;
  readonly scope: CallScope;
}

export interface KmsOperation<I = Record<string, unknown>, O extends object = object> {
  /** The operation name in the AWS model, which validates the input first. */
  readonly name: string;
  /** CloudTrail's readOnly: read-only calls also log `responseElements: null`. */
  readonly readOnly: boolean;
  execute(request: OperationRequest<I>): O | Promise<O>;
  /** Replaces the generic sanitized `requestParameters` (RetireGrant logs null). */
  readonly auditRequestParameters?: (input: Record<string, unknown>) => Record<string, unknown> | null;
  /** Replaces the generic sanitized `responseElements` of a write call (CreateGrant logs only the grant id). */
  auditResponseElements?(output: O): Record<string, unknown> | null;
}

export type AnyKmsOperation = KmsOperation<never, object>;

/** Types an operation's input from its model-validated JSON (blobs decoded to Buffers). */
export const defineOperation = <I, O extends object>(operation: KmsOperation<I, O>): KmsOperation<I, O> => operation;
