/**
 * Which operations a key's state permits, in one table (AWS's key-state page, for the states
 * sealdb keys can be in). Operations not listed work in every state.
 */
import { disabled, notPendingDeletion, pendingDeletion } from './errors.js';
import type { KeyState } from './types.js';

type Rule = 'ok' | 'disabled' | 'pending-deletion' | 'not-pending-deletion';
type Row = Readonly<Record<KeyState, Rule>>;

const CRYPTO: Row = { Enabled: 'ok', Disabled: 'disabled', PendingDeletion: 'pending-deletion' };
const MANAGE: Row = { Enabled: 'ok', Disabled: 'ok', PendingDeletion: 'pending-deletion' };
const ONLY_PENDING: Row = {
  Enabled: 'not-pending-deletion',
  Disabled: 'not-pending-deletion',
  PendingDeletion: 'ok',
};

/** Keyed by the permission name (ReEncrypt checks its two keys as ReEncryptFrom and ReEncryptTo). */
const KEY_STATE_TABLE: Readonly<Record<string, Row>> = {
  Encrypt: CRYPTO,
  Decrypt: CRYPTO,
  ReEncryptFrom: CRYPTO,
  ReEncryptTo: CRYPTO,
  GenerateDataKey: CRYPTO,
  GenerateDataKeyWithoutPlaintext: CRYPTO,
  CreateGrant: CRYPTO,
  EnableKeyRotation: CRYPTO,
  DisableKeyRotation: CRYPTO,
  RotateKeyOnDemand: CRYPTO,
  CreateAlias: MANAGE,
  UpdateAlias: MANAGE,
  EnableKey: MANAGE,
  DisableKey: MANAGE,
  ScheduleKeyDeletion: MANAGE,
  UpdateKeyDescription: MANAGE,
  TagResource: MANAGE,
  UntagResource: MANAGE,
  CancelKeyDeletion: ONLY_PENDING,
};

export function checkKeyState(action: string, state: KeyState, keyArn: string): void {
  const rule = KEY_STATE_TABLE[action]?.[state] ?? 'ok';
  switch (rule) {
    case 'ok':
      return;
    case 'disabled':
      throw disabled(keyArn);
    case 'pending-deletion':
      throw pendingDeletion(keyArn);
    case 'not-pending-deletion':
      throw notPendingDeletion(keyArn);
  }
}
