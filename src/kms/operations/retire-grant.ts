import type { Principal } from '../../http/service.js';
import { accessDenied, invalidGrantId, validation } from '../errors.js';
import { defineOperation } from '../operation.js';
import { awsPrincipalMatches } from '../policy.js';
import { finishDryRun } from '../request-checks.js';
import { resolveKey } from '../resolve.js';
import type { GrantRecord } from '../types.js';

interface RetireGrantInput {
  GrantToken?: string;
  KeyId?: string;
  GrantId?: string;
  DryRun?: boolean;
}

/**
 * Retiring is not a key-policy permission: the retiring principal, a grantee whose grant includes
 * RetireGrant, and the account that issued the grant may retire it.
 */
function mayRetire(grant: GrantRecord, principal: Principal): boolean {
  if (grant.retiringPrincipal !== undefined && awsPrincipalMatches(grant.retiringPrincipal, principal)) return true;
  if (grant.operations.includes('RetireGrant') && awsPrincipalMatches(grant.granteePrincipal, principal)) return true;
  return principal.type !== 'AWSService' && awsPrincipalMatches(grant.issuingAccount, principal);
}

export const retireGrantOperation = defineOperation<RetireGrantInput, object>({
  name: 'RetireGrant',
  readOnly: false,
  auditRequestParameters: () => null,
  execute(request) {
    const { input, env, caller, scope } = request;
    if (input.GrantToken === undefined && (input.GrantId === undefined || input.KeyId === undefined)) {
      throw validation('Grant token OR (grant ID, key ID) must be specified');
    }
    let grantId = input.GrantId;
    if (input.GrantToken !== undefined) {
      const fromToken = env.grantTokens.verify(input.GrantToken);
      if (grantId !== undefined && grantId !== fromToken) throw invalidGrantId();
      grantId = fromToken;
    }
    scope.additionalEventData = { grantId };
    const grant = grantId !== undefined ? env.store.getGrant(grantId) : undefined;
    const resolved = input.KeyId !== undefined ? resolveKey(request, input.KeyId, { crossAccount: true }) : undefined;
    if (!grant || (resolved && resolved.key.keyId !== grant.keyId)) throw invalidGrantId();
    const key = env.store.getKey(grant.keyId);
    // A grant on another region's key is unknown to this region's KMS.
    if (!key || key.region !== env.region) throw invalidGrantId();
    const arn = scope.touch(key, env.region);
    if (!mayRetire(grant, caller.principal)) throw accessDenied(caller.principal.arn, 'kms:RetireGrant', arn, false);
    finishDryRun(input.DryRun);
    env.store.deleteGrant(grant.grantId);
    return {};
  },
});
