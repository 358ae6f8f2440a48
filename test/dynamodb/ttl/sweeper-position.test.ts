/**
 * The TTL sweeper's place in a table's scan is kept in the table's own (encrypted) file: a
 * restart in the middle of a pass continues the scan from there instead of starting it over.
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
import { storedKey, toStored } from '../../../src/dynamodb/item-codec.js';
import type { TableDefinition } from '../../../src/dynamodb/table-definition.js';
import { keyAttributes } from '../../../src/dynamodb/table-schema.js';
import type { OpenTable } from '../../../src/dynamodb/tables.js';
import { savedPosition } from '../../../src/dynamodb/ttl/position.js';
import { TtlSweeper } from '../../../src/dynamodb/ttl/sweeper.js';
import { TableFile } from '../../../src/storage/table-file.js';

const before = (a: { hash: number; pk: Buffer }, b: { hash: number; pk: Buffer }) =>
  a.hash < b.hash || (a.hash === b.hash && Buffer.compare(a.pk, b.pk) < 0);

describe('TTL sweeper position', () => {
  it('survives a restart: the next process goes on from where the scan was', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealdb-ttl-position-'));
    const path = join(dir, 't.db');
    const key = randomBytes(32);
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
    const expiredTtl = { N: `${Math.floor(start / 1000) - 1}` };
    const sweeperOf = (file: TableFile, onSlice: () => void = () => undefined) => {
      const table: OpenTable = { definition, keys, store: file, indexes: indexSchemas(definition, keys) };
      return new TtlSweeper({
        tables: {
          allTables: () => [{ scope: { accountId: '000000000000', region: 'us-east-1' }, name: 't', definition }],
          openForTtl: async () => table,
          damaged: (error) => assert.fail(error),
          run: (fn) => fn(),
        },
        clock,
        onDeleted: onSlice,
        onError: (error) => assert.fail(error as Error),
        sliceMs: 0,
      });
    };
    try {
      let file = TableFile.open(path, key);
      for (let i = 0; i < 3000; i++) file.put(toStored({ pk: { S: `k${i}` }, ttl: expiredTtl }, keys));
      await file.durable();

      // The first process stops after a few slices, in the middle of its pass.
      let slices = 0;
      const first = sweeperOf(file, () => {
        if (++slices === 20) void first.stop();
      });
      await first.pass();
      await first.stop();
      const left = file.stats().itemCount;
      assert.ok(left > 0 && left < 3000, `${left} items left after the first process`);
      file.close();

      // Restarted: the position is in the file.
      file = TableFile.open(path, key);
      const position = savedPosition(file);
      assert.ok(position, 'the scan position was saved in the table file');
      // New expired items behind that position: a scan that goes on from there does not reach
      // them in this pass; one that started over would.
      const behind: Item[] = [];
      for (let i = 0; behind.length < 50 && i < 10_000; i++) {
        const item: Item = { pk: { S: `late${i}` }, ttl: expiredTtl };
        if (before(storedKey(item, keys), position)) behind.push(item);
      }
      for (const item of behind) file.put(toStored(item, keys));
      await file.durable();

      const second = sweeperOf(file);
      await second.pass();
      assert.equal(file.stats().itemCount, behind.length, 'the rest of the first pass was swept, and only it');
      assert.equal(savedPosition(file), undefined, 'a finished pass leaves no position behind');
      // The next pass starts over and finds them.
      await second.pass();
      assert.equal(file.stats().itemCount, 0);
      await second.stop();
      await file.durable();
      file.close();
    } finally {
      key.fill(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
