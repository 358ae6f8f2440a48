/**
 * The KMS that table keys come from, as TableKeyService sees it: the five calls DynamoDB makes
 * (DescribeKey, CreateGrant, GenerateDataKey, Decrypt, RetireGrant). Two implementations: sealdb's
 * built-in KMS in process (`builtinTableKms`), or an external AWS-KMS-compatible service through
 * the AWS SDK (src/kms/external/).
 */
import type { Scope } from '../core/scope.js';
import type { Principal } from '../http/service.js';
import type { KmsService } from '../kms/index.js';

export type TableKmsOperation = 'DescribeKey' | 'CreateGrant' | 'GenerateDataKey' | 'Decrypt' | 'RetireGrant';

/** Who a call is made for: the client (via DynamoDB) or DynamoDB itself. */
export interface TableKmsCaller {
  readonly principal: Principal;
  readonly region: string;
  readonly viaService: string;
  readonly invokedBy: string;
  readonly sourceIp: string;
  readonly userAgent: string;
  readonly requestId: string;
}

export interface TableKms {
  readonly kind: 'builtin' | 'external';
  /**
   * The key id to ask for the account's AWS managed key of DynamoDB. Built in: the key itself
   * (created on first use). External: the predefined alias, which KMS resolves (creating the key
   * on first use, as AWS KMS does for `alias/aws/<service>`).
   */
  managedKeyId(scope: Scope): string | Promise<string>;
  /**
   * The grantee and retiring principal of DynamoDB's grant on a key of `keyAccountId`. Built in:
   * the DynamoDB service principal of the region. External: sealdb calls with its own
   * credentials, so the grant names the key's account (a service principal is AWS's alone).
   */
  grantPrincipal(viaService: string, keyAccountId: string | undefined): string;
  /** Throws the KMS error (with `name`/`code`), or a KeyAccessError already classified. */
  call(
    operation: TableKmsOperation,
    input: Record<string, unknown>,
    caller: TableKmsCaller,
  ): Promise<Record<string, unknown>>;
}

export function builtinTableKms(kms: KmsService): TableKms {
  return {
    kind: 'builtin',
    managedKeyId: (scope) => kms.ensureAwsManagedKey(scope, 'dynamodb'),
    grantPrincipal: (viaService) => viaService,
    call: (operation, input, caller) => kms.call(operation, input, caller),
  };
}
