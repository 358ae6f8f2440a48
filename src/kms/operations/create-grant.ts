import { randomBytes } from 'node:crypto';
import { accessKey } from '../access.js';
import { notNull, validation } from '../errors.js';
import { grantMayCreate, grantOperationAcceptsConstraints } from '../grants.js';
import { accountRootArn } from '../key-ids.js';
import { defineOperation } from '../operation.js';
import { checkGrantTokens, finishDryRun } from '../request-checks.js';
import type { GrantConstraints, GrantRecord } from '../types.js';

interface CreateGrantInput {
  KeyId: string;
  GranteePrincipal?: string;
  RetiringPrincipal?: string;
  Operations: string[];
  Constraints?: GrantConstraints;
  GrantTokens?: string[];
  Name?: string;
  DryRun?: boolean;
  GranteeServicePrincipal?: string;
  RetiringServicePrincipal?: string;
}

function checkConstraints(operations: readonly string[], constraints: GrantConstraints | undefined): void {
  if (!constraints?.EncryptionContextEquals && !constraints?.EncryptionContextSubset) return;
  const refused = operations.filter((op) => !grantOperationAcceptsConstraints(op));
  if (refused.length > 0) {
    throw validation(`Grant constraints are not supported for the following operations: ${refused.join(', ')}`);
  }
}

const sameGrant = (g: GrantRecord, spec: Omit<GrantRecord, 'grantId' | 'creationMs' | 'issuingAccount'>): boolean =>
  JSON.stringify([g.granteePrincipal, g.retiringPrincipal, [...g.operations].sort(), g.constraints ?? null]) ===
  JSON.stringify([
    spec.granteePrincipal,
    spec.retiringPrincipal,
    [...spec.operations].sort(),
    spec.constraints ?? null,
  ]);

export const createGrantOperation = defineOperation<CreateGrantInput, { GrantToken: string; GrantId: string }>({
  name: 'CreateGrant',
  readOnly: false,
  // CloudTrail records the grant id, not the token.
  auditResponseElements: (output: { GrantId: string }) => ({ grantId: output.GrantId }),
  execute(request) {
    const { input, env, caller } = request;
    checkGrantTokens(env, input.GrantTokens);
    const grantee = input.GranteePrincipal ?? input.GranteeServicePrincipal;
    if (grantee === undefined) throw notNull('granteePrincipal');
    const retiring = input.RetiringPrincipal ?? input.RetiringServicePrincipal;
    checkConstraints(input.Operations, input.Constraints);
    const { key } = accessKey(request, input.KeyId, 'CreateGrant', {
      crossAccount: true,
      conditions: {
        'kms:grantoperations': input.Operations,
        'kms:granteeprincipal': [grantee],
        ...(retiring !== undefined ? { 'kms:retiringprincipal': [retiring] } : {}),
        'kms:grantisforawsresource': [String(caller.viaService !== undefined)],
      },
      grantFilter: (parent) => grantMayCreate(parent, input.Operations, input.Constraints),
    });
    finishDryRun(input.DryRun);
    const spec = {
      keyId: key.keyId,
      ...(input.Name !== undefined ? { name: input.Name } : {}),
      granteePrincipal: grantee,
      ...(retiring !== undefined ? { retiringPrincipal: retiring } : {}),
      operations: input.Operations,
      ...(input.Constraints !== undefined ? { constraints: input.Constraints } : {}),
    };
    // A repeated CreateGrant with the same Name and parameters returns the existing grant (with a new token).
    const existing =
      input.Name !== undefined
        ? env.store.listGrants(key.keyId).find((g) => g.name === input.Name && sameGrant(g, spec))
        : undefined;
    const grant: GrantRecord = existing ?? {
      ...spec,
      grantId: env.store.fresh(() => randomBytes(32).toString('hex')),
      creationMs: env.clock.now(),
      issuingAccount: accountRootArn(caller.principal.accountId),
    };
    if (!existing) env.store.putGrant(grant);
    return { GrantToken: env.grantTokens.issue(grant.grantId), GrantId: grant.grantId };
  },
});
