import { cachedPolicy, policyAllows } from '../authorize.js';
import { policyLockout, unsupported, validation } from '../errors.js';
import { createKey } from '../key-factory.js';
import { keyArn } from '../key-ids.js';
import { keyMetadata } from '../key-metadata.js';
import { defineOperation } from '../operation.js';
import { defaultKeyPolicy } from '../policy-templates.js';
import { checkTags } from '../request-checks.js';
import { ENCRYPT_DECRYPT, SYMMETRIC_DEFAULT, type Tag } from '../types.js';

interface CreateKeyInput {
  Policy?: string;
  Description?: string;
  KeyUsage?: string;
  CustomerMasterKeySpec?: string;
  KeySpec?: string;
  Origin?: string;
  CustomKeyStoreId?: string;
  BypassPolicyLockoutSafetyCheck?: boolean;
  Tags?: Tag[];
  MultiRegion?: boolean;
  XksKeyId?: string;
}

/** sealdb makes symmetric encryption keys only; every other kind of key is refused up front. */
function checkKeyKind(input: CreateKeyInput): void {
  if (input.KeySpec !== undefined && input.CustomerMasterKeySpec !== undefined) {
    throw validation(
      'You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.',
    );
  }
  const spec = input.KeySpec ?? input.CustomerMasterKeySpec ?? SYMMETRIC_DEFAULT;
  if (spec !== SYMMETRIC_DEFAULT)
    throw unsupported(`KeySpec ${spec} is not supported. sealdb supports only SYMMETRIC_DEFAULT keys.`);
  const usage = input.KeyUsage ?? ENCRYPT_DECRYPT;
  if (usage !== ENCRYPT_DECRYPT) throw validation(`KeyUsage ${usage} is not compatible with KeySpec ${spec}`);
  if (input.Origin !== undefined && input.Origin !== 'AWS_KMS') {
    throw unsupported(`Origin ${input.Origin} is not supported. sealdb supports only AWS_KMS keys.`);
  }
  if (input.CustomKeyStoreId !== undefined || input.XksKeyId !== undefined) {
    throw unsupported('Custom key stores are not supported.');
  }
  if (input.MultiRegion === true) throw unsupported('Multi-Region keys are not supported.');
}

export const createKeyOperation = defineOperation<CreateKeyInput, { KeyMetadata: object }>({
  name: 'CreateKey',
  readOnly: false,
  execute({ input, caller, env, scope }) {
    checkKeyKind(input);
    checkTags(input.Tags);
    const accountId = caller.principal.accountId;
    const policy = input.Policy ?? defaultKeyPolicy(accountId);
    cachedPolicy(policy);
    // The key does not exist yet; the lockout check evaluates against an ARN of this account.
    if (input.BypassPolicyLockoutSafetyCheck !== true && input.Policy !== undefined) {
      if (!policyAllows(policy, caller, 'PutKeyPolicy', keyArn(env.region, accountId, '*'))) throw policyLockout();
    }
    const key = createKey(env, {
      accountId,
      description: input.Description ?? '',
      policy,
      tags: input.Tags ?? [],
      keyManager: 'CUSTOMER',
    });
    scope.touch(key, env.region);
    return { KeyMetadata: keyMetadata(env, key) };
  },
});
