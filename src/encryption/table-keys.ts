/**
 * Table keys, as DynamoDB keeps them: each table has a 256-bit table key from
 * KMS GenerateDataKey under the table's KMS key (or under the service-owned
 * key), stored only as ciphertext, and cached in plaintext per connection for
 * 5 minutes. Every KMS call goes through the KMS service with the caller's
 * identity and `kms:ViaService` DynamoDB, so key policies, grants and the audit
 * trail apply exactly as to any other client.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { Principal } from '../http/service.js';
import { KeyAccessError, toKeyAccessError } from './key-access-error.js';
import { unwrapKey, wrapKey } from './key-wrap.js';
import type { KmsOutage } from './kms-outage.js';
import type { RootOfTrust } from './root-of-trust.js';
import { type CacheStats, type KeyCacheScope, TABLE_KEY_REFRESH_MS, TableKeyCache } from './table-key-cache.js';
import type { TableKms, TableKmsCaller, TableKmsOperation } from './table-kms.js';

export type KeyKind = 'OWNED' | 'MANAGED' | 'CUSTOMER';

/** What a table's definition keeps about its key; never plaintext. */
export interface TableKeyRecord {
  readonly kind: KeyKind;
  /** The resolved KMS key ARN (MANAGED and CUSTOMER). */
  readonly kmsKeyArn?: string;
  /** DynamoDB's grant on the KMS key, retired when the table leaves the key. */
  readonly grantId?: string;
  /** base64 of the KMS ciphertext blob, or of the owned-key wrap. */
  readonly encryptedTableKey: string;
  /** Bumped on every key switch, so cached keys of the old generation are never used. */
  readonly generation: number;
}

export type KeyChoice =
  | { readonly kind: 'OWNED' }
  | { readonly kind: 'MANAGED' }
  | { readonly kind: 'CUSTOMER'; readonly keyId: string };

export interface TableKeyTarget {
  readonly tableName: string;
  readonly tableArn: string;
  readonly tableId: string;
  readonly accountId: string;
  /** The table's region: its KMS calls go to that region's KMS. */
  readonly region: string;
}

/** The client on whose behalf DynamoDB calls KMS. */
export interface KeyCaller {
  readonly principal: Principal;
  readonly connectionId: number;
  readonly sourceIp: string;
  readonly userAgent: string;
}

const GRANT_OPERATIONS = [
  'DescribeKey',
  'GenerateDataKey',
  'Decrypt',
  'Encrypt',
  'ReEncryptFrom',
  'ReEncryptTo',
  'RetireGrant',
];
const INVOKED_BY = 'dynamodb.amazonaws.com';

export class TableKeyService {
  readonly #ownedKek: Buffer;
  readonly #cache: TableKeyCache;
  /**
   * With an external KMS: the last plaintext key of each table (and generation) that KMS
   * decrypted, kept only to stand in during an outage's grace period.
   */
  readonly #reserve = new Map<string, { key: Buffer; fetchedAt: number; tableId: string }>();

  constructor(
    private readonly kms: TableKms,
    root: RootOfTrust,
    private readonly clock: Clock,
    scope: KeyCacheScope,
    stats?: CacheStats,
    /** Present with an external KMS: transient failures are ridden out from cached keys. */
    private readonly outage?: KmsOutage,
  ) {
    // The AWS owned key: a service key no account can see, so its use leaves no KMS call or record.
    this.#ownedKek = root.deriveKey('sealdb/aws-owned-table-key/v1');
    this.#cache = new TableKeyCache(scope, clock, stats);
  }

  /** `kms:ViaService` of DynamoDB in the table's region. */
  viaService(table: TableKeyTarget): string {
    return `dynamodb.${table.region}.amazonaws.com`;
  }

  /** The encryption context DynamoDB binds to every KMS call for a table. */
  encryptionContext(table: TableKeyTarget): Record<string, string> {
    return { 'aws:dynamodb:tableName': table.tableName, 'aws:dynamodb:subscriberId': table.accountId };
  }

  /**
   * A new table key under the chosen key: DescribeKey and CreateGrant as the caller,
   * GenerateDataKey as DynamoDB. Returns the record and the plaintext key (the caller zeroes it).
   */
  async create(
    table: TableKeyTarget,
    choice: KeyChoice,
    caller: KeyCaller,
    generation: number,
  ): Promise<{ record: TableKeyRecord; tableKey: Buffer }> {
    if (choice.kind === 'OWNED') {
      const tableKey = randomBytes(32);
      const wrapped = wrapKey(this.#ownedKek, tableKey, ownedAad(table));
      return { record: { kind: 'OWNED', encryptedTableKey: wrapped.toString('base64'), generation }, tableKey };
    }
    const keyId =
      choice.kind === 'MANAGED'
        ? await this.kms.managedKeyId({ accountId: table.accountId, region: table.region })
        : choice.keyId;
    // Asked of the table region's KMS: a key of another region is not found there, as in AWS.
    const described = await this.#call('DescribeKey', { KeyId: keyId }, this.#asCaller(caller, table));
    const metadata = described.KeyMetadata as {
      Arn: string;
      KeyState: string;
      AWSAccountId?: string;
      KeySpec?: string;
      KeyUsage?: string;
    };
    const arn = metadata.Arn;
    if (metadata.KeyState === 'Disabled')
      throw new KeyAccessError('DisabledException', `${arn} is disabled.`, '', true);
    if (metadata.KeyState === 'PendingDeletion') {
      throw new KeyAccessError('KMSInvalidStateException', `${arn} is pending deletion.`, '', true);
    }
    const context = this.encryptionContext(table);
    const grantee = this.kms.grantPrincipal(this.viaService(table), metadata.AWSAccountId);
    const grant = await this.#call(
      'CreateGrant',
      {
        KeyId: arn,
        GranteePrincipal: grantee,
        RetiringPrincipal: grantee,
        Operations: GRANT_OPERATIONS,
        Constraints: { EncryptionContextSubset: context },
      },
      this.#asCaller(caller, table),
    );
    const grantId = grant.GrantId as string;
    try {
      const generated = await this.#call(
        'GenerateDataKey',
        { KeyId: arn, KeySpec: 'AES_256', EncryptionContext: context, GrantTokens: [grant.GrantToken as string] },
        this.#asService(table),
      );
      const ciphertext = generated.CiphertextBlob as Buffer;
      return {
        record: {
          kind: choice.kind,
          kmsKeyArn: arn,
          grantId,
          encryptedTableKey: ciphertext.toString('base64'),
          generation,
        },
        tableKey: generated.Plaintext as Buffer,
      };
    } catch (error) {
      await this.retireGrant(table, { kind: choice.kind, kmsKeyArn: arn, grantId, encryptedTableKey: '', generation });
      throw error;
    }
  }

  /**
   * The plaintext table key for a caller's request: from the cache, or one KMS Decrypt as
   * the caller (via DynamoDB). The cache owns the buffer: use it at once, do not keep it.
   */
  tableKey(table: TableKeyTarget, record: TableKeyRecord, caller: KeyCaller): Promise<Buffer> {
    // Past an outage's grace a cached key no longer stands in for the KMS: ask it again.
    if (record.kind !== 'OWNED' && this.outage?.inOutage && !this.outage.withinGrace()) {
      this.#cache.evictTable(table.tableId);
    }
    return this.#cache.get(caller.connectionId, table.tableId, record.generation, () =>
      this.#decrypt(table, record, this.#asCaller(caller, table)),
    );
  }

  /** A plaintext table key the caller owns (and zeroes): for key switches and background checks. */
  decryptAsService(table: TableKeyTarget, record: TableKeyRecord): Promise<Buffer> {
    return this.#decrypt(table, record, this.#asService(table));
  }

  /** DynamoDB gives up its grant when a table leaves a key (deleted or switched). Failures are ignored. */
  async retireGrant(table: TableKeyTarget, record: TableKeyRecord): Promise<void> {
    if (!record.grantId || !record.kmsKeyArn) return;
    try {
      await this.#call('RetireGrant', { KeyId: record.kmsKeyArn, GrantId: record.grantId }, this.#asService(table));
    } catch {
      // A key already deleted or disabled keeps no grant worth retiring.
    }
  }

  evictConnection(connectionId: number): void {
    this.#cache.evictConnection(connectionId);
  }

  evictTable(tableId: string): void {
    this.#cache.evictTable(tableId);
    for (const [slot, entry] of this.#reserve) if (entry.tableId === tableId) this.#dropReserve(slot);
  }

  evictExpired(): void {
    this.#cache.evictExpired();
    if (!this.outage) return;
    // Idle tables hold no key material for long; during an outage the reserve lasts its grace.
    const inOutage = this.outage.inOutage;
    const graceOver = inOutage && !this.outage.withinGrace();
    const maxAge = TABLE_KEY_REFRESH_MS + this.outage.graceMs;
    const now = this.clock.now();
    for (const [slot, entry] of this.#reserve) {
      if (graceOver || (!inOutage && now - entry.fetchedAt >= maxAge)) this.#dropReserve(slot);
    }
  }

  close(): void {
    this.#cache.clear();
    for (const slot of [...this.#reserve.keys()]) this.#dropReserve(slot);
    this.#ownedKek.fill(0);
  }

  #dropReserve(slot: string): void {
    this.#reserve.get(slot)?.key.fill(0);
    this.#reserve.delete(slot);
  }

  async #decrypt(table: TableKeyTarget, record: TableKeyRecord, caller: KmsCaller): Promise<Buffer> {
    const blob = Buffer.from(record.encryptedTableKey, 'base64');
    if (record.kind === 'OWNED') {
      try {
        return unwrapKey(this.#ownedKek, blob, ownedAad(table));
      } catch {
        throw new KeyAccessError('InvalidCiphertextException', 'The table key does not belong to this table', '', true);
      }
    }
    const slot = `${table.tableId}|${record.generation}`;
    const standIn = this.#reserve.get(slot);
    if (standIn && this.outage?.withinGrace() && !this.outage.mayProbe()) {
      this.outage.servedFromReserve();
      return Buffer.from(standIn.key);
    }
    let out: Record<string, unknown>;
    try {
      out = await this.#call(
        'Decrypt',
        { CiphertextBlob: blob, KeyId: record.kmsKeyArn, EncryptionContext: this.encryptionContext(table) },
        caller,
      );
    } catch (error) {
      const reserve = this.#reserve.get(slot);
      if (error instanceof KeyAccessError && error.transient && reserve && this.outage?.withinGrace()) {
        this.outage.servedFromReserve();
        return Buffer.from(reserve.key);
      }
      throw error;
    }
    const plaintext = out.Plaintext as Buffer;
    if (this.outage) {
      this.#dropReserve(slot);
      this.#reserve.set(slot, { key: Buffer.from(plaintext), fetchedAt: this.clock.now(), tableId: table.tableId });
    }
    return plaintext;
  }

  async #call(
    operation: TableKmsOperation,
    input: Record<string, unknown>,
    caller: KmsCaller,
  ): Promise<Record<string, unknown>> {
    try {
      return await this.kms.call(operation, input, caller);
    } catch (error) {
      if (error instanceof KeyAccessError) throw error;
      throw toKeyAccessError(error, caller.requestId);
    }
  }

  #asCaller(caller: KeyCaller, table: TableKeyTarget): KmsCaller {
    return {
      principal: caller.principal,
      region: table.region,
      viaService: this.viaService(table),
      invokedBy: INVOKED_BY,
      sourceIp: caller.sourceIp,
      userAgent: caller.userAgent,
      requestId: newRequestId(),
    };
  }

  /** DynamoDB itself, using its grant: CloudTrail shows `{"type":"AWSService","invokedBy":"dynamodb.amazonaws.com"}`. */
  #asService(table: TableKeyTarget): KmsCaller {
    const name = this.viaService(table);
    return {
      principal: { type: 'AWSService', accountId: table.accountId, arn: name, principalId: name },
      region: table.region,
      viaService: name,
      invokedBy: INVOKED_BY,
      sourceIp: INVOKED_BY,
      userAgent: INVOKED_BY,
      requestId: newRequestId(),
    };
  }
}

type KmsCaller = TableKmsCaller;

const ownedAad = (table: TableKeyTarget): string => `${table.tableArn}|${table.tableId}|aws-owned-table-key`;

const newRequestId = (): string => randomUUID();
