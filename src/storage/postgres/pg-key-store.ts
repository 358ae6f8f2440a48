/**
 * The built-in KMS's key store in the engine, behind the same synchronous KeyStore the embedded
 * SQLite file implements, so every node started with the same root of trust and `--storage` URL
 * sees the same keys, material, aliases, grants and tombstones. The records are rows of the
 * engine's `rows` table under the reserved table id KMS_TABLE, kept by a PgTableStore: each row is
 * AES-256-GCM ciphertext (row-seal.ts) under a key derived from the root of trust, its AAD binding
 * it to that table id, its keyspace and its keyed hashes; key ids, account ids, alias names and
 * principals reach the engine only as HMACs. Key material is sealed twice: the record itself holds
 * it wrapped under the root-derived material key (key-material.ts), and the row is sealed again.
 *
 * Calls answer from the current unit of work (the KMS runs each call as one SERIALIZABLE unit,
 * engine.ts) and throw Miss for rows not yet fetched, as table stores do. Layout (pk → sk):
 *   items  `key|<id>` → KeyRecord · `tomb|<id>` → KeyTombstone · `grant|<id>` → GrantRecord
 *   OWNER  `<account>|<region>` → key id: KeyRecord (ListKeys)
 *   DUE    `due` → key id: due times (the lifecycle sweep of every call reads this one partition)
 *   MATERIAL `<key id>` → version (4 bytes): KeyMaterialRecord
 *   ALIAS  `<account>|<region>` → alias name: AliasRecord
 *   GRANTS `<key id>` → creation (8 bytes) + grant id: GrantRecord; RETIRING `<principal>` → the same
 */
import type { RootOfTrust } from '../../encryption/root-of-trust.js';
import type { KeyStore } from '../../kms/key-store.js';
import type { AliasRecord, GrantRecord, KeyMaterialRecord, KeyRecord, KeyTombstone } from '../../kms/types.js';
import type { Engine } from './engine.js';
import { ITEM_SPACE, PgTableStore } from './pg-table-store.js';
import { RowSeal } from './row-seal.js';
import { currentUnit } from './unit-of-work.js';

/** The table id of the KMS's rows: table ids are random UUIDs, so it is never a table's. */
export const KMS_TABLE = 'sealdb-kms';
const SEAL_PURPOSE = 'sealdb/engine-kms-seal/v1';

const OWNER = 1;
const DUE = 2;
const MATERIAL = 3;
const ALIAS = 4;
const GRANTS = 5;
const RETIRING = 6;

const NO_BYTES = Buffer.alloc(0);
const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');
const json = (value: unknown): Buffer => utf8(JSON.stringify(value));
const parse = <T>(body: Buffer): T => JSON.parse(body.toString('utf8')) as T;
const owner = (accountId: string, region: string): Buffer => utf8(`${accountId}|${region}`);

function u32(n: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(n);
  return out;
}

function grantOrder(g: GrantRecord): Buffer {
  const time = Buffer.alloc(8);
  time.writeBigInt64BE(BigInt(Math.trunc(g.creationMs)));
  return Buffer.concat([time, utf8(g.grantId)]);
}

/** Stored with a material record: its wrapped bytes as base64 (JSON has no bytes). */
interface StoredMaterial extends Omit<KeyMaterialRecord, 'wrapped'> {
  readonly wrapped: string;
}

interface DueTimes {
  readonly keyId: string;
  readonly deletionMs?: number;
  readonly nextRotationMs?: number;
}

export class PgKeyStore implements KeyStore {
  readonly #rows: PgTableStore;

  constructor(engine: Engine, root: RootOfTrust) {
    const key = root.deriveKey(SEAL_PURPOSE);
    try {
      this.#rows = new PgTableStore(engine, KMS_TABLE, new RowSeal(key, KMS_TABLE));
    } finally {
      key.fill(0);
    }
  }

  getKey(keyId: string): KeyRecord | undefined {
    return this.#point<KeyRecord>(`key|${keyId}`);
  }

  listKeys(accountId: string, region: string): KeyRecord[] {
    return this.#partition<KeyRecord>(OWNER, owner(accountId, region));
  }

  keysDueForDeletion(nowMs: number): KeyRecord[] {
    return this.#due((d) => d.deletionMs !== undefined && d.deletionMs <= nowMs);
  }

  keysDueForRotation(nowMs: number): KeyRecord[] {
    return this.#due((d) => d.nextRotationMs !== undefined && d.nextRotationMs <= nowMs);
  }

  putKey(key: KeyRecord): void {
    const body = json(key);
    this.#putPoint(`key|${key.keyId}`, body);
    this.#putEntry(OWNER, owner(key.accountId, key.region), utf8(key.keyId), body);
    // The same conditions as the embedded store's indexed columns (key-store.ts).
    const deletionMs = key.state === 'PendingDeletion' ? key.deletionMs : undefined;
    const nextRotationMs = key.rotation.enabled ? key.rotation.nextRotationMs : undefined;
    if (deletionMs === undefined && nextRotationMs === undefined) this.#deleteEntry(DUE, utf8('due'), utf8(key.keyId));
    else {
      const due: DueTimes = {
        keyId: key.keyId,
        ...(deletionMs !== undefined ? { deletionMs } : {}),
        ...(nextRotationMs !== undefined ? { nextRotationMs } : {}),
      };
      this.#putEntry(DUE, utf8('due'), utf8(key.keyId), json(due));
    }
  }

  getTombstone(keyId: string): KeyTombstone | undefined {
    return this.#point<KeyTombstone>(`tomb|${keyId}`);
  }

  destroyKey(keyId: string, deletedMs: number): void {
    const key = this.getKey(keyId);
    if (!key) return;
    this.transaction(() => {
      for (const m of this.listMaterials(keyId)) this.#deleteEntry(MATERIAL, utf8(keyId), u32(m.version));
      for (const a of this.listAliases(key.accountId, key.region)) {
        if (a.targetKeyId === keyId) this.deleteAlias(a.accountId, a.region, a.aliasName);
      }
      for (const g of this.listGrants(keyId)) this.deleteGrant(g.grantId);
      this.#deletePoint(`key|${keyId}`);
      this.#deleteEntry(OWNER, owner(key.accountId, key.region), utf8(keyId));
      this.#deleteEntry(DUE, utf8('due'), utf8(keyId));
      const tombstone: KeyTombstone = { keyId, accountId: key.accountId, region: key.region, deletedMs };
      this.#putPoint(`tomb|${keyId}`, json(tombstone));
    });
  }

  addMaterial(m: KeyMaterialRecord): void {
    const stored: StoredMaterial = { ...m, wrapped: m.wrapped.toString('base64') };
    this.#putEntry(MATERIAL, utf8(m.keyId), u32(m.version), json(stored));
  }

  getMaterial(keyId: string, version: number): KeyMaterialRecord | undefined {
    return this.listMaterials(keyId).find((m) => m.version === version);
  }

  listMaterials(keyId: string): KeyMaterialRecord[] {
    return this.#partition<StoredMaterial>(MATERIAL, utf8(keyId)).map((m) => ({
      ...m,
      wrapped: Buffer.from(m.wrapped, 'base64'),
    }));
  }

  getAlias(accountId: string, region: string, aliasName: string): AliasRecord | undefined {
    return this.listAliases(accountId, region).find((a) => a.aliasName === aliasName);
  }

  listAliases(accountId: string, region: string): AliasRecord[] {
    return this.#partition<AliasRecord>(ALIAS, owner(accountId, region));
  }

  putAlias(alias: AliasRecord): void {
    // An update keeps the alias's creation date, as the embedded store's upsert does.
    const existing = this.getAlias(alias.accountId, alias.region, alias.aliasName);
    const stored = existing ? { ...alias, creationMs: existing.creationMs } : alias;
    this.#putEntry(ALIAS, owner(alias.accountId, alias.region), utf8(alias.aliasName), json(stored));
  }

  deleteAlias(accountId: string, region: string, aliasName: string): void {
    this.#deleteEntry(ALIAS, owner(accountId, region), utf8(aliasName));
  }

  getGrant(grantId: string): GrantRecord | undefined {
    return this.#point<GrantRecord>(`grant|${grantId}`);
  }

  listGrants(keyId: string): GrantRecord[] {
    return this.#partition<GrantRecord>(GRANTS, utf8(keyId));
  }

  listGrantsByRetiringPrincipal(retiringPrincipal: string): GrantRecord[] {
    return this.#partition<GrantRecord>(RETIRING, utf8(retiringPrincipal));
  }

  putGrant(grant: GrantRecord): void {
    const body = json(grant);
    this.#putPoint(`grant|${grant.grantId}`, body);
    this.#putEntry(GRANTS, utf8(grant.keyId), grantOrder(grant), body);
    if (grant.retiringPrincipal !== undefined) {
      this.#putEntry(RETIRING, utf8(grant.retiringPrincipal), grantOrder(grant), body);
    }
  }

  deleteGrant(grantId: string): void {
    const grant = this.getGrant(grantId);
    if (!grant) return;
    this.#deletePoint(`grant|${grantId}`);
    this.#deleteEntry(GRANTS, utf8(grant.keyId), grantOrder(grant));
    if (grant.retiringPrincipal !== undefined) {
      this.#deleteEntry(RETIRING, utf8(grant.retiringPrincipal), grantOrder(grant));
    }
  }

  /** Inside the call's unit: its writes commit together; a failed part takes back only its own. */
  transaction<T>(fn: () => T): T {
    return this.#rows.transaction(fn);
  }

  fresh<T>(make: () => T): T {
    return currentUnit().stable(make);
  }

  close(): void {
    this.#rows.close();
  }

  #due(matches: (due: DueTimes) => boolean): KeyRecord[] {
    const out: KeyRecord[] = [];
    for (const due of this.#partition<DueTimes>(DUE, utf8('due'))) {
      if (!matches(due)) continue;
      const key = this.getKey(due.keyId);
      if (key) out.push(key);
    }
    return out;
  }

  #point<T>(pk: string): T | undefined {
    const item = this.#rows.get(0, utf8(pk), NO_BYTES);
    return item ? parse<T>(item.body) : undefined;
  }

  /**
   * Blind writes (no read of the row first): a unit run again after a Miss makes new random ids
   * (CreateKey, CreateGrant), and a read of each new id would ask for rows without end.
   */
  #putPoint(pk: string, body: Buffer): void {
    this.#putEntry(ITEM_SPACE, utf8(pk), NO_BYTES, body);
  }

  #deletePoint(pk: string): void {
    this.#deleteEntry(ITEM_SPACE, utf8(pk), NO_BYTES);
  }

  /** One partition's records, in sort-key order. */
  #partition<T>(space: number, pk: Buffer): T[] {
    const out: T[] = [];
    for (const entry of this.#rows.queryEntries({ space, hash: 0, pk, forward: true })) out.push(parse<T>(entry.body));
    return out;
  }

  #putEntry(space: number, pk: Buffer, sk: Buffer, body: Buffer): void {
    this.#rows.putEntry({ space, hash: 0, pk, sk, tk: NO_BYTES, body, size: body.length });
  }

  #deleteEntry(space: number, pk: Buffer, sk: Buffer): void {
    this.#rows.deleteEntry({ space, hash: 0, pk, sk, tk: NO_BYTES });
  }
}
