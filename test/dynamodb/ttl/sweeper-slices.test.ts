/**
 * The TTL sweeper over a real (encrypted) table file, below the HTTP layer: slices cut short by
 * their time budget resume where they stopped and miss nothing, and every delete reaches the
 * store's derivers marked as DynamoDB's own (`ttl` origin), which is what a stream deriver needs
 * to give TTL's REMOVE records the service's identity.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../src/core/clock.js';
import type { Item } from '../../../src/dynamodb/attribute-value.js';
import { indexSchemas } from '../../../src/dynamodb/indexes/schema.js';
import { DerivingStore, type ItemChange } from '../../../src/dynamodb/item-changes/deriving-store.js';
import { toStored } from '../../../src/dynamodb/item-codec.js';
import type { TableDefinition } from '../../../src/dynamodb/table-definition.js';
import { keyAttributes } from '../../../src/dynamodb/table-schema.js';
import type { OpenTable } from '../../../src/dynamodb/tables.js';
import { TtlSweeper } from '../../../src/dynamodb/ttl/sweeper.js';
import { TableFile } from '../../../src/storage/table-file.js';

describe('TTL sweeper slices', () => {
  it('resumes cut-short slices without missing an item, and deletes as the service', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealdb-ttl-slices-'));
    const file = TableFile.open(join(dir, 't.db'), randomBytes(32));
    try {
      const start = Date.now();
      const clock = new ManualClock({ now: () => start });
      const definition = {
        TableName: 't',
        TableId: 'table-1',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        TimeToLive: { Enabled: true, AttributeName: 'ttl', ChangedAt: start - 60_000 },
      } as unknown as TableDefinition;
      const keys = keyAttributes(definition.KeySchema, definition.AttributeDefinitions);
      const changes: ItemChange[] = [];
      const store = new DerivingStore(file, [
        {
          derive(change) {
            changes.push(change);
            return [];
          },
        },
      ]);
      const table: OpenTable = { definition, keys, store, indexes: indexSchemas(definition, keys) };
      const nowS = Math.floor(start / 1000);
      const expired = new Set<string>();
      for (let i = 0; i < 2000; i++) {
        // Every third item expired, and all of the last 400 (so deletes, too, are cut short); the
        // others in the future or not Numbers.
        const ttl =
          i % 3 === 0 || i >= 1600 ? { N: `${nowS - 1}` } : i % 3 === 1 ? { N: `${nowS + 100}` } : { S: `${nowS - 1}` };
        const item: Item = { pk: { S: `k${i}` }, ttl };
        if (i % 3 === 0 || i >= 1600) expired.add(`k${i}`);
        file.put(toStored(item, keys));
      }
      changes.length = 0;

      const deletedPerSlice: number[] = [];
      const sweeper = new TtlSweeper({
        tables: {
          allTables: () => [{ scope: { accountId: '000000000000', region: 'us-east-1' }, name: 't', definition }],
          openForTtl: async () => table,
          damaged: (error) => assert.fail(error),
          run: (fn) => fn(),
        },
        clock,
        onDeleted: (count) => deletedPerSlice.push(count),
        onError: (error) => assert.fail(error as Error),
        // No time at all: every slice stops at its first check, scanning and deleting alike.
        sliceMs: 0,
      });
      await sweeper.pass();

      assert.equal(
        deletedPerSlice.reduce((a, b) => a + b, 0),
        expired.size,
      );
      assert.ok(deletedPerSlice.length > 10, `the pass took many slices (${deletedPerSlice.length})`);
      // With no time budget a slice deletes at most one batch of 8 before it hands over.
      assert.ok(Math.max(...deletedPerSlice) <= 8, `deletes per slice: ${Math.max(...deletedPerSlice)}`);
      assert.equal(file.stats().itemCount, 2000 - expired.size);
      assert.equal(changes.length, expired.size);
      for (const change of changes) {
        assert.deepEqual(change.origin, { kind: 'ttl' });
        assert.equal(change.newItem, undefined);
        assert.ok(expired.has(change.oldItem?.pk?.S as string));
      }
      // A second pass finds nothing more.
      await sweeper.pass();
      assert.equal(file.stats().itemCount, 2000 - expired.size);
      await sweeper.stop();
    } finally {
      await file.durable();
      file.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
