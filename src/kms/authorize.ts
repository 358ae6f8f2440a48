/**
 * Every key operation's permission check: the key policy first (an explicit Deny ends it), then,
 * for grant operations, the key's grants.
 */
import { accessDenied } from './errors.js';
import { grantAllows } from './grants.js';
import type { Caller, KmsEnvironment } from './operation.js';
import { type ConditionContext, evaluatePolicy, type PolicyDocument, parsePolicy } from './policy.js';
import type { EncryptionContext, GrantRecord, KeyRecord } from './types.js';

/** Operations a grant can allow (the GrantOperation enum); everything else needs the key policy. */
export const GRANT_OPERATIONS: ReadonlySet<string> = new Set([
  'Decrypt',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'ReEncryptFrom',
  'ReEncryptTo',
  'Sign',
  'Verify',
  'GetPublicKey',
  'CreateGrant',
  'RetireGrant',
  'DescribeKey',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'GenerateMac',
  'VerifyMac',
  'DeriveSharedSecret',
]);

export interface Permission {
  /** The permission name without `kms:`, e.g. `Encrypt`, `ReEncryptFrom`. */
  readonly action: string;
  readonly key: KeyRecord;
  readonly keyArn: string;
  readonly encryptionContext?: EncryptionContext;
  /** Further condition keys (lower-case), e.g. `kms:grantoperations` for CreateGrant. */
  readonly conditions?: Readonly<Record<string, readonly string[]>>;
  /** Whether grants may allow this call (false for RevokeGrant, PutKeyPolicy, ...). */
  readonly grantsApply?: boolean;
  /** For CreateGrant made under a grant: the parent grant must also pass this check. */
  readonly grantFilter?: (grant: GrantRecord) => boolean;
}

const policyCache = new Map<string, PolicyDocument>();
const POLICY_CACHE_LIMIT = 512;

export function cachedPolicy(text: string): PolicyDocument {
  let doc = policyCache.get(text);
  if (!doc) {
    doc = parsePolicy(text);
    if (policyCache.size >= POLICY_CACHE_LIMIT) policyCache.clear();
    policyCache.set(text, doc);
  }
  return doc;
}

export function conditionContext(caller: Caller, permission: Omit<Permission, 'key' | 'keyArn'>): ConditionContext {
  const context = new Map<string, readonly string[]>();
  const { principal } = caller;
  context.set('kms:calleraccount', [principal.accountId]);
  context.set('aws:principalaccount', [principal.accountId]);
  context.set('aws:principalarn', [principal.arn]);
  context.set('aws:principaltype', [
    principal.type === 'IAMUser' ? 'User' : principal.type === 'Root' ? 'Account' : 'Service',
  ]);
  if (caller.viaService) context.set('kms:viaservice', [caller.viaService]);
  context.set('kms:keyspec', ['SYMMETRIC_DEFAULT']);
  context.set('kms:keyusage', ['ENCRYPT_DECRYPT']);
  context.set('kms:keyorigin', ['AWS_KMS']);
  if (permission.encryptionContext) {
    const pairs = Object.entries(permission.encryptionContext);
    for (const [k, v] of pairs) context.set(`kms:encryptioncontext:${k.toLowerCase()}`, [v]);
    context.set(
      'kms:encryptioncontextkeys',
      pairs.map(([k]) => k),
    );
  }
  for (const [k, v] of Object.entries(permission.conditions ?? {})) context.set(k, v);
  return context;
}

/** Throws AccessDeniedException in AWS's words unless the policy or a grant allows the call. */
export function authorize(env: KmsEnvironment, caller: Caller, permission: Permission): void {
  const action = `kms:${permission.action}`;
  const decision = evaluatePolicy(cachedPolicy(permission.key.policy), {
    principal: caller.principal,
    action,
    resource: permission.keyArn,
    context: conditionContext(caller, permission),
  });
  if (decision === 'Allow') return;
  if (decision === 'ExplicitDeny') throw accessDenied(caller.principal.arn, action, permission.keyArn, true);
  if (permission.grantsApply !== false && GRANT_OPERATIONS.has(permission.action)) {
    const allowed = env.store
      .listGrants(permission.key.keyId)
      .some(
        (g) =>
          grantAllows(g, caller.principal, permission.action, permission.encryptionContext) &&
          (permission.grantFilter?.(g) ?? true),
      );
    if (allowed) return;
  }
  throw accessDenied(caller.principal.arn, action, permission.keyArn, false);
}

/** Whether the policy alone allows an action: the CreateKey/PutKeyPolicy lockout safety check. */
export function policyAllows(policyText: string, caller: Caller, action: string, resource: string): boolean {
  return (
    evaluatePolicy(cachedPolicy(policyText), {
      principal: caller.principal,
      action: `kms:${action}`,
      resource,
      context: conditionContext(caller, { action }),
    }) === 'Allow'
  );
}
