/**
 * KMS shapes shared by several operations: the wire members sealdb answers with and the records
 * the key store keeps. Blobs are Buffers and timestamps epoch seconds inside the service; the
 * wire layer turns Buffers into base64.
 */

export type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';
export type KeyManager = 'CUSTOMER' | 'AWS';
export type RotationType = 'AUTOMATIC' | 'ON_DEMAND';

export const SYMMETRIC_DEFAULT = 'SYMMETRIC_DEFAULT';
export const ENCRYPT_DECRYPT = 'ENCRYPT_DECRYPT';

export type EncryptionContext = Readonly<Record<string, string>>;

export interface Tag {
  readonly TagKey: string;
  readonly TagValue: string;
}

export interface RotationSettings {
  readonly enabled: boolean;
  readonly periodDays?: number;
  /** Epoch ms of the next automatic rotation, while enabled. */
  readonly nextRotationMs?: number;
}

/** One KMS key as stored. Key material lives apart (see KeyMaterialRecord). */
export interface KeyRecord {
  readonly keyId: string;
  readonly accountId: string;
  readonly region: string;
  readonly creationMs: number;
  readonly description: string;
  readonly state: KeyState;
  readonly deletionMs?: number;
  readonly pendingWindowInDays?: number;
  readonly keyManager: KeyManager;
  readonly policy: string;
  readonly tags: readonly Tag[];
  readonly rotation: RotationSettings;
  readonly onDemandRotations: number;
  /** The material version new ciphertexts use. */
  readonly currentVersion: number;
}

export interface KeyMaterialRecord {
  readonly keyId: string;
  readonly version: number;
  /** 64 hex characters, as KMS's KeyMaterialId. Random: it must not be derived from the material. */
  readonly materialId: string;
  /** AES-256-GCM wrapped under a key derived from the root of trust. */
  readonly wrapped: Buffer;
  readonly createdMs: number;
  /** Absent for the material the key was created with. */
  readonly rotationType?: RotationType;
}

/** A key that was deleted: remembered (without material) so errors can name its ARN. */
export interface KeyTombstone {
  readonly keyId: string;
  readonly accountId: string;
  readonly region: string;
  readonly deletedMs: number;
}

export interface AliasRecord {
  readonly accountId: string;
  readonly region: string;
  readonly aliasName: string;
  readonly targetKeyId: string;
  readonly creationMs: number;
  readonly lastUpdatedMs: number;
}

export interface GrantConstraints {
  readonly EncryptionContextSubset?: EncryptionContext;
  readonly EncryptionContextEquals?: EncryptionContext;
}

export interface GrantRecord {
  readonly grantId: string;
  readonly keyId: string;
  readonly name?: string;
  readonly creationMs: number;
  readonly granteePrincipal: string;
  readonly retiringPrincipal?: string;
  /** `arn:aws:iam::<account>:root` of the account that created the grant. */
  readonly issuingAccount: string;
  readonly operations: readonly string[];
  readonly constraints?: GrantConstraints;
}

export interface KeyMetadata {
  AWSAccountId: string;
  KeyId: string;
  Arn: string;
  CreationDate: number;
  Enabled: boolean;
  Description: string;
  KeyUsage: typeof ENCRYPT_DECRYPT;
  KeyState: KeyState;
  DeletionDate?: number;
  PendingDeletionWindowInDays?: number;
  Origin: 'AWS_KMS';
  KeyManager: KeyManager;
  CustomerMasterKeySpec: typeof SYMMETRIC_DEFAULT;
  KeySpec: typeof SYMMETRIC_DEFAULT;
  EncryptionAlgorithms: [typeof SYMMETRIC_DEFAULT];
  MultiRegion: false;
  CurrentKeyMaterialId?: string;
}

export interface GrantListEntry {
  KeyId: string;
  GrantId: string;
  Name?: string;
  CreationDate: number;
  GranteePrincipal: string;
  RetiringPrincipal?: string;
  IssuingAccount: string;
  Operations: string[];
  Constraints?: GrantConstraints;
}

export interface AliasListEntry {
  AliasName: string;
  AliasArn: string;
  TargetKeyId?: string;
  CreationDate?: number;
  LastUpdatedDate?: number;
}

/** Epoch milliseconds (the clock's unit) to the epoch seconds of the JSON protocols. */
export const toEpochSeconds = (ms: number): number => ms / 1000;

export const DAY_MS = 24 * 60 * 60 * 1000;
