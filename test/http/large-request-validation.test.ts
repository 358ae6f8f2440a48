/**
 * Issue 12, item 11: validating one huge request must not hold up every other client. The model
 * check of a 15 MB BatchWriteItem of ~110k small items took about 1.7 s on the main thread,
 * most of it building the 5.6 MB `WriteRequest@hash` text of its message; large bodies are now
 * checked in the JSON worker (src/validation/off-thread.ts). What clients are told must not
 * change: each answer is compared with checkInput's own, run here synchronously as the server
 * runs it for a small body.
 */
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import modelJson from '../../src/dynamodb/model.json' with { type: 'json' };
import { AwsError, CORAL_SERVICE, CORAL_VALIDATE } from '../../src/http/aws-error.js';
import { type CheckOptions, checkInput } from '../../src/validation/checker.js';
import { loadModel } from '../../src/validation/model.js';
import { type SealdbProcess, startSealdbProcess } from '../helpers/process.js';

const model = loadModel(modelJson);
/** As DynamoDbService checks its input. */
const DYNAMODB_CHECK: CheckOptions = {
  serializationNamespace: CORAL_SERVICE,
  validationNamespace: CORAL_VALIDATE,
  typeMessages: 'dynamodb',
};

const amzDate = new Date()
  .toISOString()
  .replace(/\.\d{3}Z$/, 'Z')
  .replace(/[-:]/g, '');
const authorization = `AWS4-HMAC-SHA256 Credential=AKIDLOCAL/${amzDate.slice(0, 8)}/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`;

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly crc: string | undefined;
}

function post(port: number, operation: string, body: Buffer | string, agent?: Agent): Promise<Answer> {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        ...(agent ? { agent } : { agent: false }),
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': `DynamoDB_20120810.${operation}`,
          'x-amz-date': amzDate,
          authorization,
          'content-length': String(bytes.length),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            crc: res.headers['x-amz-crc32'] as string | undefined,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(bytes);
  });
}

/** What the server answers when checkInput refuses `input`: the same call, run here. */
function expectedRefusal(operation: string, input: unknown): { status: number; body: string } {
  try {
    checkInput(model, operation, input, DYNAMODB_CHECK);
  } catch (error) {
    assert.ok(error instanceof AwsError);
    // The AWS JSON error shape, as the server sends it.
    const body = JSON.stringify({
      __type: error.wireType,
      ...(error.hasMessage ? { [error.messageKey]: error.message } : {}),
    });
    return { status: error.statusCode, body };
  }
  assert.fail(`checkInput accepted the ${operation} input`);
}

/** ~bytes of BatchWriteItem: one table's list of many small PutRequests (over the 25 allowed). */
function hugeBatch(bytes: number, damage?: (i: number) => string | undefined): string {
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const part =
      damage?.(i) ??
      `{"PutRequest":{"Item":{"id":{"S":"key-${i}"},"n":{"N":"${i}"},"tags":{"L":[{"S":"a"},{"S":"b"}]},"m":{"M":{"x":{"S":"hello"},"y":{"BOOL":true}}}}}}`;
    parts.push(part);
    size += part.length + 1;
  }
  return `{"RequestItems":{"Huge":[${parts.join(',')}]}}`;
}

describe('validating a huge request off the main thread', () => {
  let server: SealdbProcess;
  let port: number;

  before(async () => {
    server = await startSealdbProcess(['--in-memory']);
    port = Number(new URL(server.endpoint).port);
    const created = await post(
      port,
      'CreateTable',
      JSON.stringify({
        TableName: 'Huge',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    assert.equal(created.status, 200, created.body);
  });

  after(async () => {
    await server?.stop();
  });

  it('answers other clients while a 15 MB BatchWriteItem of ~110k items is validated', async (t) => {
    const body = Buffer.from(hugeBatch(15_000_000));
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const ping = JSON.stringify({ TableName: 'Huge', Key: { id: { S: 'absent' } } });
    // Warm up: the first large body also starts the JSON workers.
    assert.equal((await post(port, 'BatchWriteItem', body)).status, 400);
    // The longest wait for a tiny GetItem, sent one after another over one connection, while the
    // huge batch is received, checked and refused. Measured twice, the better kept: a 2-core test
    // machine shared with other work stalls now and then on its own. Today's main held every
    // client for 1.3–2 s here, in every round (4.5 s at a load average of 13); an off-thread
    // check holds the main thread for ~15 ms, and stays near 50 ms of wall time on a quiet
    // machine, but up to ~1 s in a round when other processes keep both cores busy.
    const rounds: number[] = [];
    for (let round = 0; round < 2; round++) {
      let done = false;
      let slowest = 0;
      let answered = 0;
      const pings = (async () => {
        while (!done) {
          const started = performance.now();
          const answer = await post(port, 'GetItem', ping, agent);
          assert.equal(answer.status, 200, answer.body);
          slowest = Math.max(slowest, performance.now() - started);
          answered++;
        }
      })();
      const refused = await post(port, 'BatchWriteItem', body);
      done = true;
      await pings;
      assert.equal(refused.status, 400);
      assert.ok(answered > 5, `only ${answered} pings were answered meanwhile`);
      rounds.push(slowest);
    }
    agent.destroy();
    const best = Math.min(...rounds);
    t.diagnostic(`slowest tiny GetItem per round: ${rounds.map((r) => r.toFixed(0)).join(', ')} ms`);
    assert.ok(best < 750, `a tiny GetItem waited ${rounds.map((r) => r.toFixed(0)).join(' and ')} ms`);
  });

  it('refuses a huge batch with exactly the message checkInput words, checksum included', async () => {
    const text = hugeBatch(15_000_000);
    const expected = expectedRefusal('BatchWriteItem', JSON.parse(text));
    // The over-long list's message names every one of its ~110k WriteRequests.
    assert.ok(expected.body.length > 5_000_000);
    assert.match(
      expected.body,
      /^\{"__type":"com\.amazon\.coral\.validate#ValidationException","message":"1 validation error/,
    );
    const answer = await post(port, 'BatchWriteItem', text);
    assert.equal(answer.status, expected.status);
    assert.ok(answer.body === expected.body, 'the answer differs from checkInput');
    assert.equal(answer.crc, String(crc32(Buffer.from(expected.body))));
  });

  it('words a type error deep inside a huge batch as checkInput does (SerializationException, Message)', async () => {
    const text = hugeBatch(2_000_000, (i) => (i === 9_000 ? '{"PutRequest":{"Item":{"id":{"S":5}}}}' : undefined));
    const expected = expectedRefusal('BatchWriteItem', JSON.parse(text));
    assert.equal(
      expected.body,
      '{"__type":"com.amazon.coral.service#SerializationException","Message":"NUMBER_VALUE cannot be converted to String"}',
    );
    const answer = await post(port, 'BatchWriteItem', text);
    assert.deepEqual({ status: answer.status, body: answer.body }, expected);
  });

  it('refuses a huge body that is not a JSON object as before (a message-less SerializationException)', async () => {
    const text = `[${'{"a":1},'.repeat(100_000)}{"a":1}]`;
    const answer = await post(port, 'BatchWriteItem', text);
    assert.deepEqual(
      { status: answer.status, body: answer.body },
      { status: 400, body: '{"__type":"com.amazon.coral.service#SerializationException"}' },
    );
  });

  it('runs a large valid request on the checked input: nulls and unmodelled members dropped, integers truncated', async () => {
    const big = 'v'.repeat(150_000);
    const puts = Array.from({ length: 3 }, (_, i) => ({
      PutRequest: { Item: { id: { S: `valid-${i}` }, big: { S: big }, extra: { S: 'x', Unmodelled: 1 } } },
      DeleteRequest: null,
    }));
    const text = JSON.stringify({ RequestItems: { Huge: puts }, ReturnConsumedCapacity: null, NotInTheModel: [1, 2] });
    assert.ok(text.length > 64 * 1024, 'large enough for the worker');
    const answer = await post(port, 'BatchWriteItem', text);
    assert.deepEqual({ status: answer.status, body: answer.body }, { status: 200, body: '{"UnprocessedItems":{}}' });
    const got = await post(port, 'GetItem', JSON.stringify({ TableName: 'Huge', Key: { id: { S: 'valid-2' } } }));
    assert.deepEqual(JSON.parse(got.body), {
      Item: { id: { S: 'valid-2' }, big: { S: big }, extra: { S: 'x' } },
    });
    // A Limit of 1.9 is read as 1, as Coral truncates it, in a body only the worker checks.
    const scan = await post(
      port,
      'Scan',
      JSON.stringify({
        TableName: 'Huge',
        Limit: 1.9,
        FilterExpression: 'big <> :v',
        ExpressionAttributeValues: { ':v': { S: 'w'.repeat(100_000) } },
      }),
    );
    assert.equal(scan.status, 200, scan.body);
    assert.equal(JSON.parse(scan.body).ScannedCount, 1);
  });

  it('refuses a large request of another operation exactly as checkInput does', async () => {
    const input = { TableName: 'Huge', ExpressionAttributeNames: { '#p': 'x'.repeat(70_000) } };
    const answer = await post(port, 'Scan', JSON.stringify(input));
    assert.equal(answer.status, 400);
    assert.deepEqual({ status: answer.status, body: answer.body }, expectedRefusal('Scan', input));
  });
});
