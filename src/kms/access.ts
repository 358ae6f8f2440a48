/** The three steps every key operation takes, in AWS's order: find the key, check permission, check its state. */
import { authorize, type Permission } from './authorize.js';
import { checkKeyState } from './key-state.js';
import type { OperationRequest } from './operation.js';
import { type ResolvedKey, type ResolveOptions, resolveKey } from './resolve.js';

export type AccessOptions = ResolveOptions & Omit<Permission, 'action' | 'key' | 'keyArn'>;

export function accessKey(
  request: OperationRequest<unknown>,
  id: string,
  action: string,
  options: AccessOptions = {},
): ResolvedKey {
  const resolved = resolveKey(request, id, options);
  authorizeResolved(request, resolved, action, options);
  return resolved;
}

/** Permission and state checks for a key found some other way (e.g. from a ciphertext). */
export function authorizeResolved(
  { env, caller }: OperationRequest<unknown>,
  resolved: ResolvedKey,
  action: string,
  options: Omit<AccessOptions, keyof ResolveOptions> = {},
): void {
  const conditions = resolved.requestAlias
    ? { ...options.conditions, 'kms:requestalias': [resolved.requestAlias] }
    : options.conditions;
  authorize(env, caller, {
    ...options,
    action,
    key: resolved.key,
    keyArn: resolved.arn,
    ...(conditions ? { conditions } : {}),
  });
  checkKeyState(action, resolved.key.state, resolved.arn);
}
