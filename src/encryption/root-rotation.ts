/**
 * Root-key rotation: the data directory's master key, which every other key is derived from, is
 * sealed anew under the new root and `root-check.json` is replaced in one rename, so a crash at
 * any point leaves exactly one of the two roots working: before the rename the old one, after it
 * the new one. Nothing else is rewritten, so the pause is a few milliseconds whatever the data.
 *
 * The switch is then audited (a `RotateRootKey` record in the trail of the operator's account).
 * The record is written after the rename and the check file then notes it; a crash in between
 * leaves the note unset and the next start (or rotation) writes the record: at least once.
 *
 * Test hook: `SEALDB_TEST_CRASH_AT=rotate:<step>` kills the process with SIGKILL at a step
 * (old-opened, new-ready, temp-written, renamed, synced, verified, audited).
 */
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { AuditTrail } from '../cloudtrail/index.js';
import type { KmsCallEvent } from '../kms/index.js';
import { formatPkcs11Spec } from './pkcs11-root.js';
import {
  CHECK_FILE,
  type CheckRecord,
  type OpenedRootKey,
  openRootKey,
  type RootKeySource,
  type RootKind,
  RootOfTrust,
  type RootRotationRecord,
  readCheckRecord,
  sealRecord,
  writeCheckRecord,
} from './root-of-trust.js';

export type ConcreteRootSource = Exclude<RootKeySource, { kind: 'ephemeral' }>;

export const ROTATION_STEPS = [
  'old-opened',
  'new-ready',
  'temp-written',
  'renamed',
  'synced',
  'verified',
  'audited',
] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

function crashPoint(step: string): void {
  const setting = process.env.SEALDB_TEST_CRASH_AT;
  if (setting === `rotate:${step}`) process.kill(process.pid, 'SIGKILL');
}

/** What the operator may read about a root (never a secret). */
export function describeRoot(source: ConcreteRootSource): string {
  switch (source.kind) {
    case 'key-file':
      return `key file ${resolve(source.path)}`;
    case 'passphrase':
      return 'passphrase (scrypt)';
    case 'pkcs11':
      return `PKCS#11 ${formatPkcs11Spec(source.spec)}`;
  }
}

export interface RotationResult {
  readonly id: string;
  readonly from: RootKind;
  readonly to: RootKind;
  /** Milliseconds from opening the old root to the new one verified (the data directory was locked). */
  readonly switchMs: number;
  /** The new root created a key file (back it up). */
  readonly createdKeyFile: string | undefined;
}

/**
 * Re-wraps the master key of `dataDir` from `from` to `to`. The caller holds the data-directory
 * lock (no server runs) and gives the trail to audit in (`audit`, opened on the root returned by
 * `RootOfTrust.open(to, ...)` afterwards, so a crash never leaves a trail the new root cannot read).
 */
export async function rotateRoot(
  dataDir: string,
  from: ConcreteRootSource,
  to: ConcreteRootSource,
  trail: { readonly accountId: string; readonly region: string },
  openAudit: (root: RootOfTrust) => Promise<AuditTrail>,
  clock: () => number = Date.now,
): Promise<RotationResult> {
  if (from.kind === 'key-file' && to.kind === 'key-file' && resolve(from.path) === resolve(to.path)) {
    throw new Error(`the new root key file is the current one (${resolve(to.path)}): name another file`);
  }
  const started = clock();
  const checkPath = join(dataDir, CHECK_FILE);
  const old = RootOfTrust.open(from, dataDir);
  const before = readCheckRecord(checkPath);
  // A rotation killed before its record was written is recorded first.
  await recordPendingRotation(dataDir, old, openAudit);
  crashPoint('old-opened');
  let opened: OpenedRootKey | undefined;
  let master: Buffer | undefined;
  try {
    opened = openRootKey(to, dataDir);
    crashPoint('new-ready');
    master = old.masterKeyCopy();
    const aad = `sealdb-master-key-v2|${to.kind}`;
    const rotation: RootRotationRecord = {
      id: randomUUID(),
      at: new Date(clock()).toISOString(),
      from: before.kind,
      to: to.kind,
      account: trail.accountId,
      region: trail.region,
      audited: false,
    };
    const record: CheckRecord = {
      version: 2,
      kind: to.kind,
      ...(opened.salt ? { scryptSalt: opened.salt.toString('base64') } : {}),
      wrappedMasterKey: opened.wrap(master, aad).toString('base64'),
      ...(to.kind === 'pkcs11' ? { pkcs11: { token: to.spec.token, keyLabel: to.spec.keyLabel } } : {}),
      // The check is of the master key, which does not change.
      check: before.check,
      rotation,
    };
    const createdKeyFile = opened.createdKeyFile;
    opened.close();
    opened = undefined;
    writeCheckRecord(checkPath, sealRecord(record), crashPoint);
    // The new root must open the directory before the old one is called unneeded.
    const fresh = RootOfTrust.open(to, dataDir);
    const switchMs = clock() - started;
    crashPoint('verified');
    try {
      await recordPendingRotation(dataDir, fresh, openAudit, switchMs);
    } finally {
      fresh.destroy();
    }
    return { id: rotation.id, from: before.kind, to: to.kind, switchMs, createdKeyFile };
  } finally {
    master?.fill(0);
    opened?.close();
    old.destroy();
  }
}

/**
 * Writes the audit record of the last rotation if it is not written yet, then notes it in the
 * check file. `root` is the data directory's current root.
 */
export async function recordPendingRotation(
  dataDir: string,
  root: RootOfTrust,
  openAudit: (root: RootOfTrust) => Promise<AuditTrail>,
  switchMs?: number,
): Promise<boolean> {
  const checkPath = join(dataDir, CHECK_FILE);
  const record = readCheckRecord(checkPath);
  const rotation = record.rotation;
  if (!rotation || rotation.audited) return false;
  const audit = await openAudit(root);
  try {
    await audit.record(rotationEvent(rotation, switchMs));
  } finally {
    await audit.close();
  }
  crashPoint('audited');
  const { sha256: _, ...rest } = record;
  writeCheckRecord(checkPath, sealRecord({ ...rest, rotation: { ...rotation, audited: true } }));
  return true;
}

function rotationEvent(rotation: RootRotationRecord, switchMs: number | undefined): KmsCallEvent {
  const accountId = rotation.account;
  return {
    eventName: 'RotateRootKey',
    eventTime: Date.parse(rotation.at),
    requestId: rotation.id,
    region: rotation.region,
    principal: { type: 'Root', accountId, arn: `arn:aws:iam::${accountId}:root`, principalId: accountId },
    sourceIp: 'sealdb-cli',
    userAgent: 'sealdb root rotate',
    readOnly: false,
    resources: [],
    keyOwnerAccountId: accountId,
    requestParameters: { fromRoot: rotation.from, toRoot: rotation.to },
    responseElements: { rotationId: rotation.id, ...(switchMs !== undefined ? { switchMilliseconds: switchMs } : {}) },
    additionalEventData: { sealdbRootRotation: true },
  };
}
