/** Finds the key a request names, in whichever of the four forms the operation accepts. */
import { ensureAwsManagedKey, isPredefinedAlias } from './aws-managed.js';
import {
  aliasNotFound,
  ciphertextKeyInaccessible,
  incorrectKey,
  invalidCiphertext,
  invalidKeyId,
  notFoundKey,
} from './errors.js';
import { aliasArn, keyArn, parseKeyReference } from './key-ids.js';
import type { Caller, CallScope, KmsEnvironment } from './operation.js';
import type { KeyRecord } from './types.js';

export interface ResolveOptions {
  /** Alias names and alias ARNs are accepted (DescribeKey and the cryptographic operations). */
  readonly aliases?: boolean;
  /** Key ARNs and alias ARNs of other accounts are accepted (the operations AWS allows cross-account). */
  readonly crossAccount?: boolean;
}

export interface ResolvedKey {
  readonly key: KeyRecord;
  readonly arn: string;
  /** The alias the request named, for `kms:RequestAlias`. */
  readonly requestAlias?: string;
}

interface Resolution {
  readonly env: KmsEnvironment;
  readonly caller: Caller;
  readonly scope: CallScope;
}

export function resolveKey({ env, caller, scope }: Resolution, id: string, options: ResolveOptions = {}): ResolvedKey {
  const ref = parseKeyReference(id, env.region);
  const own = caller.principal.accountId;
  let keyId: string;
  let accountId: string;
  let requestAlias: string | undefined;
  switch (ref.kind) {
    case 'keyId':
      keyId = ref.keyId;
      accountId = own;
      break;
    case 'keyArn':
      keyId = ref.keyId;
      accountId = ref.accountId;
      if (accountId !== own && !options.crossAccount) throw notFoundKey(ref.arn);
      break;
    case 'aliasName':
    case 'aliasArn': {
      if (!options.aliases) throw invalidKeyId(id);
      accountId = ref.kind === 'aliasArn' ? ref.accountId : own;
      const arn = aliasArn(env.region, accountId, ref.aliasName);
      if (accountId !== own && !options.crossAccount) throw aliasNotFound(arn);
      let alias = env.store.getAlias(accountId, env.region, ref.aliasName);
      // KMS creates an AWS managed key the first time its predefined alias is used.
      if (!alias && accountId === own && isPredefinedAlias(ref.aliasName)) {
        ensureAwsManagedKey(env, own, ref.aliasName);
        alias = env.store.getAlias(accountId, env.region, ref.aliasName);
      }
      if (!alias) throw aliasNotFound(arn);
      keyId = alias.targetKeyId;
      requestAlias = ref.aliasName;
      break;
    }
  }
  const key = env.store.getKey(keyId);
  const arn = keyArn(env.region, accountId, keyId);
  if (!key || key.accountId !== accountId || key.region !== env.region) throw notFoundKey(arn);
  scope.touch(key, env.region);
  return { key, arn, ...(requestAlias ? { requestAlias } : {}) };
}

/**
 * The key a ciphertext names. A key id that never existed means the blob is not ours (or was
 * altered), so it is an InvalidCiphertextException; a deleted key is a NotFoundException for its
 * owner; another account's key is hidden behind AWS's "ciphertext refers to" AccessDenied.
 */
export function resolveCiphertextKey(
  resolution: Resolution,
  blobKeyId: string,
  requestedKeyId: string | undefined,
): ResolvedKey {
  const { env, caller, scope } = resolution;
  const own = caller.principal.accountId;
  const key = env.store.getKey(blobKeyId);
  if (!key) {
    const tombstone = env.store.getTombstone(blobKeyId);
    if (!tombstone) throw invalidCiphertext();
    if (tombstone.accountId !== own) throw ciphertextKeyInaccessible();
    throw notFoundKey(keyArn(tombstone.region, tombstone.accountId, tombstone.keyId));
  }
  if (requestedKeyId !== undefined) {
    const requested = resolveKey(resolution, requestedKeyId, { aliases: true, crossAccount: true });
    if (requested.key.keyId !== key.keyId) throw incorrectKey();
    return requested;
  }
  if (key.region !== env.region) throw ciphertextKeyInaccessible();
  const arn = scope.touch(key, env.region);
  return { key, arn };
}
