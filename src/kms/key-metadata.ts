/** DescribeKey's KeyMetadata for a key record. */
import { keyArn } from './key-ids.js';
import type { KmsEnvironment } from './operation.js';
import { type KeyMetadata, type KeyRecord, SYMMETRIC_DEFAULT, toEpochSeconds } from './types.js';

export function keyMetadata(env: KmsEnvironment, key: KeyRecord): KeyMetadata {
  const current = env.store.getMaterial(key.keyId, key.currentVersion);
  return {
    AWSAccountId: key.accountId,
    KeyId: key.keyId,
    Arn: keyArn(key.region, key.accountId, key.keyId),
    CreationDate: toEpochSeconds(key.creationMs),
    Enabled: key.state === 'Enabled',
    Description: key.description,
    KeyUsage: 'ENCRYPT_DECRYPT',
    KeyState: key.state,
    ...(key.state === 'PendingDeletion' && key.deletionMs !== undefined
      ? { DeletionDate: toEpochSeconds(key.deletionMs), PendingDeletionWindowInDays: key.pendingWindowInDays }
      : {}),
    Origin: 'AWS_KMS',
    KeyManager: key.keyManager,
    CustomerMasterKeySpec: SYMMETRIC_DEFAULT,
    KeySpec: SYMMETRIC_DEFAULT,
    EncryptionAlgorithms: [SYMMETRIC_DEFAULT],
    MultiRegion: false,
    ...(current ? { CurrentKeyMaterialId: current.materialId } : {}),
  };
}
