/** Every KMS operation sealdb implements, one module each. */
import type { AnyKmsOperation } from '../operation.js';
import { cancelKeyDeletionOperation } from './cancel-key-deletion.js';
import { createAliasOperation } from './create-alias.js';
import { createGrantOperation } from './create-grant.js';
import { createKeyOperation } from './create-key.js';
import { decryptOperation } from './decrypt.js';
import { deleteAliasOperation } from './delete-alias.js';
import { describeKeyOperation } from './describe-key.js';
import { disableKeyOperation } from './disable-key.js';
import { disableKeyRotationOperation } from './disable-key-rotation.js';
import { enableKeyOperation } from './enable-key.js';
import { enableKeyRotationOperation } from './enable-key-rotation.js';
import { encryptOperation } from './encrypt.js';
import { generateDataKeyOperation } from './generate-data-key.js';
import { generateDataKeyWithoutPlaintextOperation } from './generate-data-key-without-plaintext.js';
import { generateRandomOperation } from './generate-random.js';
import { getKeyPolicyOperation } from './get-key-policy.js';
import { getKeyRotationStatusOperation } from './get-key-rotation-status.js';
import { listAliasesOperation } from './list-aliases.js';
import { listGrantsOperation } from './list-grants.js';
import { listKeyPoliciesOperation } from './list-key-policies.js';
import { listKeyRotationsOperation } from './list-key-rotations.js';
import { listKeysOperation } from './list-keys.js';
import { listResourceTagsOperation } from './list-resource-tags.js';
import { listRetirableGrantsOperation } from './list-retirable-grants.js';
import { putKeyPolicyOperation } from './put-key-policy.js';
import { reEncryptOperation } from './re-encrypt.js';
import { retireGrantOperation } from './retire-grant.js';
import { revokeGrantOperation } from './revoke-grant.js';
import { rotateKeyOnDemandOperation } from './rotate-key-on-demand.js';
import { scheduleKeyDeletionOperation } from './schedule-key-deletion.js';
import { tagResourceOperation } from './tag-resource.js';
import { untagResourceOperation } from './untag-resource.js';
import { updateAliasOperation } from './update-alias.js';
import { updateKeyDescriptionOperation } from './update-key-description.js';

export const operations: readonly AnyKmsOperation[] = [
  cancelKeyDeletionOperation,
  createAliasOperation,
  createGrantOperation,
  createKeyOperation,
  decryptOperation,
  deleteAliasOperation,
  describeKeyOperation,
  disableKeyRotationOperation,
  disableKeyOperation,
  enableKeyRotationOperation,
  enableKeyOperation,
  encryptOperation,
  generateDataKeyWithoutPlaintextOperation,
  generateDataKeyOperation,
  generateRandomOperation,
  getKeyPolicyOperation,
  getKeyRotationStatusOperation,
  listAliasesOperation,
  listGrantsOperation,
  listKeyPoliciesOperation,
  listKeyRotationsOperation,
  listKeysOperation,
  listResourceTagsOperation,
  listRetirableGrantsOperation,
  putKeyPolicyOperation,
  reEncryptOperation,
  retireGrantOperation,
  revokeGrantOperation,
  rotateKeyOnDemandOperation,
  scheduleKeyDeletionOperation,
  tagResourceOperation,
  untagResourceOperation,
  updateAliasOperation,
  updateKeyDescriptionOperation,
];
