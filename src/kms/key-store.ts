/**
 * Where KMS keeps keys, material, aliases and grants. Operations only see this interface; the
 * one implementation is an encrypted SQLite file under a key derived from the root of trust.
 */
import type Database from 'better-sqlite3-multiple-ciphers';
import type { RootOfTrust } from '../encryption/root-of-trust.js';
import { type CommitRecorder, openCommitRecorder } from '../storage/commit-counter.js';
import { DataDir } from '../storage/data-dir.js';
import { openEncryptedDatabase, type SqliteDatabase } from '../storage/encrypted-db.js';
import { type Durability, syncMode } from '../storage/wal-sync.js';

type Statement = Database.Statement<unknown[]>;

import type { AliasRecord, GrantRecord, KeyMaterialRecord, KeyRecord, KeyTombstone } from './types.js';

export interface KeyStore {
  getKey(keyId: string): KeyRecord | undefined;
  /** One account's keys in one region, ordered by key id. */
  listKeys(accountId: string, region: string): KeyRecord[];
  keysDueForDeletion(nowMs: number): KeyRecord[];
  keysDueForRotation(nowMs: number): KeyRecord[];
  putKey(key: KeyRecord): void;
  getTombstone(keyId: string): KeyTombstone | undefined;
  /** Removes a key with its material, aliases and grants for good, leaving only a tombstone. */
  destroyKey(keyId: string, deletedMs: number): void;

  addMaterial(material: KeyMaterialRecord): void;
  getMaterial(keyId: string, version: number): KeyMaterialRecord | undefined;
  /** Ordered by version. */
  listMaterials(keyId: string): KeyMaterialRecord[];

  getAlias(accountId: string, region: string, aliasName: string): AliasRecord | undefined;
  /** Ordered by alias name. */
  listAliases(accountId: string, region: string): AliasRecord[];
  putAlias(alias: AliasRecord): void;
  deleteAlias(accountId: string, region: string, aliasName: string): void;

  getGrant(grantId: string): GrantRecord | undefined;
  /** Ordered by creation. */
  listGrants(keyId: string): GrantRecord[];
  listGrantsByRetiringPrincipal(retiringPrincipal: string): GrantRecord[];
  putGrant(grant: GrantRecord): void;
  deleteGrant(grantId: string): void;

  transaction<T>(fn: () => T): T;
  /**
   * Makes a value a stored row is named or made by (a new key id, grant id, key material) once
   * per call: over the engine a call may run again (a unit of work after a Miss), and must then
   * name the same rows. The embedded store runs each call once: it just makes it.
   */
  fresh<T>(make: () => T): T;
  close(): void;
}

const KEYSTORE_PURPOSE = 'sealdb/kms-keystore/v1';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS keys (
  key_id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  region TEXT NOT NULL,
  deletion_ms INTEGER,
  next_rotation_ms INTEGER,
  record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS keys_by_owner ON keys (account_id, region, key_id);
CREATE INDEX IF NOT EXISTS keys_by_deletion ON keys (deletion_ms) WHERE deletion_ms IS NOT NULL;
CREATE INDEX IF NOT EXISTS keys_by_rotation ON keys (next_rotation_ms) WHERE next_rotation_ms IS NOT NULL;
CREATE TABLE IF NOT EXISTS key_material (
  key_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  material_id TEXT NOT NULL,
  wrapped BLOB NOT NULL,
  created_ms INTEGER NOT NULL,
  rotation_type TEXT,
  PRIMARY KEY (key_id, version)
);
CREATE TABLE IF NOT EXISTS tombstones (
  key_id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  region TEXT NOT NULL,
  deleted_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS aliases (
  account_id TEXT NOT NULL,
  region TEXT NOT NULL,
  alias_name TEXT NOT NULL,
  target_key_id TEXT NOT NULL,
  creation_ms INTEGER NOT NULL,
  last_updated_ms INTEGER NOT NULL,
  PRIMARY KEY (account_id, region, alias_name)
);
CREATE INDEX IF NOT EXISTS aliases_by_key ON aliases (target_key_id);
CREATE TABLE IF NOT EXISTS grants (
  grant_id TEXT PRIMARY KEY,
  key_id TEXT NOT NULL,
  retiring_principal TEXT,
  creation_ms INTEGER NOT NULL,
  record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS grants_by_key ON grants (key_id, creation_ms, grant_id);
CREATE INDEX IF NOT EXISTS grants_by_retiring ON grants (retiring_principal);
`;

interface KeyRow {
  record: string;
}
interface MaterialRow {
  key_id: string;
  version: number;
  material_id: string;
  wrapped: Buffer;
  created_ms: number;
  rotation_type: string | null;
}
interface AliasRow {
  account_id: string;
  region: string;
  alias_name: string;
  target_key_id: string;
  creation_ms: number;
  last_updated_ms: number;
}
interface TombstoneRow {
  key_id: string;
  account_id: string;
  region: string;
  deleted_ms: number;
}

/** Opens `<dataDir>/kms/keystore.db` (or an in-memory store) under a key derived from the root of trust. */
export function openKeyStore(root: RootOfTrust, dataDir: string | undefined, durability?: Durability): KeyStore {
  const key = root.deriveKey(KEYSTORE_PURPOSE);
  const file = new DataDir(dataDir).file('kms', 'keystore.db');
  let db: SqliteDatabase;
  try {
    db = openEncryptedDatabase({ file, key, synchronous: syncMode(durability), checkPages: true });
  } finally {
    key.fill(0);
  }
  return new SqliteKeyStore(db, openCommitRecorder(file, durability));
}

const parseKey = (row: KeyRow | undefined): KeyRecord | undefined =>
  row ? (JSON.parse(row.record) as KeyRecord) : undefined;

const toMaterial = (row: MaterialRow): KeyMaterialRecord => ({
  keyId: row.key_id,
  version: row.version,
  materialId: row.material_id,
  wrapped: row.wrapped,
  createdMs: row.created_ms,
  ...(row.rotation_type ? { rotationType: row.rotation_type as KeyMaterialRecord['rotationType'] } : {}),
});

const toAlias = (row: AliasRow): AliasRecord => ({
  accountId: row.account_id,
  region: row.region,
  aliasName: row.alias_name,
  targetKeyId: row.target_key_id,
  creationMs: row.creation_ms,
  lastUpdatedMs: row.last_updated_ms,
});

class SqliteKeyStore implements KeyStore {
  readonly #statements = new Map<string, Statement>();

  constructor(
    private readonly db: SqliteDatabase,
    /** How far the log was committed, for the check before the next open (commit-counter.ts). */
    private readonly commits: CommitRecorder | undefined,
  ) {
    // Freed pages are overwritten, so destroyed (already wrapped) material leaves no residue in the file.
    db.pragma('secure_delete = ON');
    db.exec(SCHEMA);
  }

  getKey(keyId: string): KeyRecord | undefined {
    return parseKey(this.#prepare('SELECT record FROM keys WHERE key_id = ?').get(keyId) as KeyRow | undefined);
  }

  listKeys(accountId: string, region: string): KeyRecord[] {
    const rows = this.#prepare('SELECT record FROM keys WHERE account_id = ? AND region = ? ORDER BY key_id').all(
      accountId,
      region,
    ) as KeyRow[];
    return rows.map((r) => parseKey(r) as KeyRecord);
  }

  keysDueForDeletion(nowMs: number): KeyRecord[] {
    const rows = this.#prepare('SELECT record FROM keys WHERE deletion_ms <= ?').all(nowMs) as KeyRow[];
    return rows.map((r) => parseKey(r) as KeyRecord);
  }

  keysDueForRotation(nowMs: number): KeyRecord[] {
    const rows = this.#prepare('SELECT record FROM keys WHERE next_rotation_ms <= ?').all(nowMs) as KeyRow[];
    return rows.map((r) => parseKey(r) as KeyRecord);
  }

  putKey(key: KeyRecord): void {
    this.#prepare(
      `INSERT INTO keys (key_id, account_id, region, deletion_ms, next_rotation_ms, record) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (key_id) DO UPDATE SET deletion_ms = excluded.deletion_ms,
           next_rotation_ms = excluded.next_rotation_ms, record = excluded.record`,
    ).run(
      key.keyId,
      key.accountId,
      key.region,
      key.state === 'PendingDeletion' ? (key.deletionMs ?? null) : null,
      key.rotation.enabled ? (key.rotation.nextRotationMs ?? null) : null,
      JSON.stringify(key),
    );
    this.#committed();
  }

  getTombstone(keyId: string): KeyTombstone | undefined {
    const row = this.#prepare('SELECT * FROM tombstones WHERE key_id = ?').get(keyId) as TombstoneRow | undefined;
    return row
      ? { keyId: row.key_id, accountId: row.account_id, region: row.region, deletedMs: row.deleted_ms }
      : undefined;
  }

  destroyKey(keyId: string, deletedMs: number): void {
    const key = this.getKey(keyId);
    if (!key) return;
    this.transaction(() => {
      this.#prepare('DELETE FROM key_material WHERE key_id = ?').run(keyId);
      this.#prepare('DELETE FROM aliases WHERE target_key_id = ?').run(keyId);
      this.#prepare('DELETE FROM grants WHERE key_id = ?').run(keyId);
      this.#prepare('DELETE FROM keys WHERE key_id = ?').run(keyId);
      this.#prepare(
        'INSERT OR REPLACE INTO tombstones (key_id, account_id, region, deleted_ms) VALUES (?, ?, ?, ?)',
      ).run(keyId, key.accountId, key.region, deletedMs);
    });
    // Old WAL frames still hold the (wrapped) material until a checkpoint rewrites the file.
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.#committed();
  }

  addMaterial(m: KeyMaterialRecord): void {
    this.#prepare(
      'INSERT INTO key_material (key_id, version, material_id, wrapped, created_ms, rotation_type) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(m.keyId, m.version, m.materialId, m.wrapped, m.createdMs, m.rotationType ?? null);
    this.#committed();
  }

  getMaterial(keyId: string, version: number): KeyMaterialRecord | undefined {
    const row = this.#prepare('SELECT * FROM key_material WHERE key_id = ? AND version = ?').get(keyId, version) as
      | MaterialRow
      | undefined;
    return row ? toMaterial(row) : undefined;
  }

  listMaterials(keyId: string): KeyMaterialRecord[] {
    const rows = this.#prepare('SELECT * FROM key_material WHERE key_id = ? ORDER BY version').all(
      keyId,
    ) as MaterialRow[];
    return rows.map(toMaterial);
  }

  getAlias(accountId: string, region: string, aliasName: string): AliasRecord | undefined {
    const row = this.#prepare('SELECT * FROM aliases WHERE account_id = ? AND region = ? AND alias_name = ?').get(
      accountId,
      region,
      aliasName,
    ) as AliasRow | undefined;
    return row ? toAlias(row) : undefined;
  }

  listAliases(accountId: string, region: string): AliasRecord[] {
    const rows = this.#prepare('SELECT * FROM aliases WHERE account_id = ? AND region = ? ORDER BY alias_name').all(
      accountId,
      region,
    ) as AliasRow[];
    return rows.map(toAlias);
  }

  putAlias(a: AliasRecord): void {
    this.#prepare(
      `INSERT INTO aliases (account_id, region, alias_name, target_key_id, creation_ms, last_updated_ms)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (account_id, region, alias_name) DO UPDATE SET target_key_id = excluded.target_key_id,
           last_updated_ms = excluded.last_updated_ms`,
    ).run(a.accountId, a.region, a.aliasName, a.targetKeyId, a.creationMs, a.lastUpdatedMs);
    this.#committed();
  }

  deleteAlias(accountId: string, region: string, aliasName: string): void {
    this.#prepare('DELETE FROM aliases WHERE account_id = ? AND region = ? AND alias_name = ?').run(
      accountId,
      region,
      aliasName,
    );
    this.#committed();
  }

  getGrant(grantId: string): GrantRecord | undefined {
    const row = this.#prepare('SELECT record FROM grants WHERE grant_id = ?').get(grantId) as KeyRow | undefined;
    return row ? (JSON.parse(row.record) as GrantRecord) : undefined;
  }

  listGrants(keyId: string): GrantRecord[] {
    const rows = this.#prepare('SELECT record FROM grants WHERE key_id = ? ORDER BY creation_ms, grant_id').all(
      keyId,
    ) as KeyRow[];
    return rows.map((r) => JSON.parse(r.record) as GrantRecord);
  }

  listGrantsByRetiringPrincipal(retiringPrincipal: string): GrantRecord[] {
    const rows = this.#prepare(
      'SELECT record FROM grants WHERE retiring_principal = ? ORDER BY creation_ms, grant_id',
    ).all(retiringPrincipal) as KeyRow[];
    return rows.map((r) => JSON.parse(r.record) as GrantRecord);
  }

  putGrant(g: GrantRecord): void {
    this.#prepare(
      `INSERT INTO grants (grant_id, key_id, retiring_principal, creation_ms, record) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (grant_id) DO UPDATE SET record = excluded.record`,
    ).run(g.grantId, g.keyId, g.retiringPrincipal ?? null, g.creationMs, JSON.stringify(g));
    this.#committed();
  }

  deleteGrant(grantId: string): void {
    this.#prepare('DELETE FROM grants WHERE grant_id = ?').run(grantId);
    this.#committed();
  }

  /** Statements are prepared once: every call sweeps the store, so these run on every request. */
  #prepare(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  fresh<T>(make: () => T): T {
    return make();
  }

  transaction<T>(fn: () => T): T {
    const result = this.db.transaction(fn)();
    this.#committed();
    return result;
  }

  /** After each write: outside a transaction it was committed (writes inside one wait for its end). */
  #committed(): void {
    if (!this.db.inTransaction) this.commits?.committed();
  }

  close(): void {
    if (this.db.open) this.db.close();
    this.commits?.close();
  }
}
