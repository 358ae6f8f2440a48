// Sealed sort keys (the engine orders nothing; a Query fetches its partition's sealed rows and
// orders them in the node): what a Query costs as its partition grows, engine vs embedded.
//
//   npm run build && node bench/engine-sort-keys.mjs [--storage postgres://…] [--sizes 10,100,1000] [--queries N]
//
// Runs a server in this process (the shared test helper), so the CPU is this process's.
import { cpuUsage } from 'node:process';
import { BatchWriteItemCommand, CreateTableCommand, DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { dropTestSchema, startTestServer, testStorageUrl } from '../dist/test/helpers/server.js';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const base = arg(
  '--storage',
  process.env.SEALDB_TEST_POSTGRES ?? 'postgres://sealdb_test:sealdb_test@127.0.0.1:5432/sealdb_test',
);
const sizes = arg('--sizes', '10,100,1000,5000').split(',').map(Number);
const queries = Number(arg('--queries', '200'));

for (const backend of ['embedded', 'engine']) {
  const storage = backend === 'engine' ? testStorageUrl(base) : undefined;
  const server = await startTestServer({ inMemory: backend === 'embedded', ...(storage ? { storage } : {}) });
  const ddb = new DynamoDBClient(server.clientConfig());
  await ddb.send(
    new CreateTableCommand({
      TableName: 'sorted',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'N' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  for (const size of sizes) {
    for (let start = 0; start < size; start += 25) {
      const batch = Array.from({ length: Math.min(25, size - start) }, (_, j) => ({
        PutRequest: { Item: { pk: { S: `p${size}` }, sk: { N: `${start + j}` }, v: { S: 'x'.repeat(200) } } },
      }));
      await ddb.send(new BatchWriteItemCommand({ RequestItems: { sorted: batch } }));
    }
    const cpu0 = cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < queries; i++) {
      const from = Math.floor(Math.random() * Math.max(1, size - 10));
      const out = await ddb.send(
        new QueryCommand({
          TableName: 'sorted',
          KeyConditionExpression: 'pk = :p AND sk BETWEEN :a AND :b',
          ExpressionAttributeValues: { ':p': { S: `p${size}` }, ':a': { N: `${from}` }, ':b': { N: `${from + 9}` } },
        }),
      );
      if ((out.Count ?? 0) !== Math.min(10, size)) throw new Error(`wrong count ${out.Count}`);
    }
    const wall = (performance.now() - t0) / queries;
    const cpu = cpuUsage(cpu0);
    console.log(
      `${backend.padEnd(8)} partition ${String(size).padStart(5)} items: Query of 10 → ${(wall * 1000).toFixed(0)} µs wall, ` +
        `${((cpu.user + cpu.system) / queries).toFixed(0)} µs CPU (client + server) per query`,
    );
  }
  ddb.destroy();
  await server.close();
  if (storage) await dropTestSchema(storage);
}
