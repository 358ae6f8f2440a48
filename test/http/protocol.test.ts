import assert from 'node:assert/strict';
import { Agent, request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const AUTH =
  'AWS4-HMAC-SHA256 Credential=AKIDLOCAL/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=00';

function send(
  server: TestServer,
  options: { method?: string; target?: string; contentType?: string; body?: string; auth?: boolean; agent?: Agent },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'x-amz-date': '20240101T000000Z' };
    if (options.target) headers['x-amz-target'] = options.target;
    if (options.contentType) headers['content-type'] = options.contentType;
    if (options.auth !== false) headers.authorization = AUTH;
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: server.port,
        path: '/',
        method: options.method ?? 'POST',
        headers,
        agent: options.agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('AWS JSON protocol', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ inMemory: true });
  });
  after(() => server.cleanup());

  it('answers a DynamoDB call with request id and CRC32 headers', async () => {
    const res = await send(server, {
      target: 'DynamoDB_20120810.ListTables',
      contentType: 'application/x-amz-json-1.0',
      body: '{}',
    });
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { TableNames: [] });
    assert.match(String(res.headers['x-amzn-requestid']), /^[A-Z0-9]{52}$/);
    assert.equal(Number(res.headers['x-amz-crc32']), crc32(Buffer.from(res.body)));
    assert.equal(res.headers['content-type'], 'application/x-amz-json-1.0');
  });

  it('rejects unknown operations, bad JSON and missing bodies as DynamoDB does', async () => {
    const unknown = await send(server, {
      target: 'DynamoDB_20120810.Frobnicate',
      contentType: 'application/x-amz-json-1.0',
      body: '{}',
    });
    assert.equal(unknown.status, 400);
    assert.deepEqual(JSON.parse(unknown.body), {
      __type: 'com.amazon.coral.service#UnknownOperationException',
      message: 'Frobnicate is not an operation of DynamoDB_20120810.',
    });

    const badJson = await send(server, {
      target: 'DynamoDB_20120810.ListTables',
      contentType: 'application/x-amz-json-1.0',
      body: '{nope',
    });
    assert.equal(badJson.status, 400);
    assert.deepEqual(JSON.parse(badJson.body), { __type: 'com.amazon.coral.service#SerializationException' });

    const empty = await send(server, {
      target: 'DynamoDB_20120810.ListTables',
      contentType: 'application/x-amz-json-1.0',
    });
    assert.equal(empty.status, 400);
    assert.equal(JSON.parse(empty.body).__type, 'com.amazon.coral.service#SerializationException');

    const noTarget = await send(server, { contentType: 'application/x-amz-json-1.0', body: '{}' });
    assert.equal(JSON.parse(noTarget.body).__type, 'com.amazon.coral.service#UnknownOperationException');
  });

  it('answers non-POST or non-JSON requests with UnknownOperationException', async () => {
    const xml = await send(server, { target: 'DynamoDB_20120810.ListTables', contentType: 'text/xml', body: '<a/>' });
    assert.equal(xml.status, 404);
    assert.equal(xml.body, '<UnknownOperationException/>\n');
    // GET / is the health check (http-fidelity.test.ts); other methods are not DynamoDB's.
    const put = await send(server, { method: 'PUT' });
    assert.equal(put.status, 404);
  });

  it('refuses JSON nested too deep to validate, and keeps serving', async () => {
    let deep = '{"S":"x"}';
    for (let i = 0; i < 5000; i++) deep = `{"L":[${deep}]}`;
    const res = await send(server, {
      target: 'DynamoDB_20120810.PutItem',
      contentType: 'application/x-amz-json-1.0',
      body: `{"TableName":"any","Item":{"id":{"S":"a"},"deep":${deep}}}`,
    });
    assert.equal(res.status, 400);
    assert.deepEqual(JSON.parse(res.body), {
      __type: 'com.amazon.coral.service#SerializationException',
      message: 'The request nests deeper than 100 levels',
    });
    const after = await send(server, {
      target: 'DynamoDB_20120810.ListTables',
      contentType: 'application/x-amz-json-1.0',
      body: '{}',
    });
    assert.equal(after.status, 200);
  });

  it('requires an Authorization header', async () => {
    const res = await send(server, {
      target: 'DynamoDB_20120810.ListTables',
      contentType: 'application/x-amz-json-1.0',
      body: '{}',
      auth: false,
    });
    assert.equal(res.status, 400);
    assert.deepEqual(JSON.parse(res.body), {
      __type: 'com.amazon.coral.service#MissingAuthenticationTokenException',
      message: 'Request is missing Authentication Token',
    });
  });

  it('reports validation errors in the Coral format', async () => {
    const res = await send(server, {
      target: 'DynamoDB_20120810.DescribeTable',
      contentType: 'application/x-amz-json-1.0',
      body: '{}',
    });
    assert.equal(res.status, 400);
    assert.deepEqual(JSON.parse(res.body), {
      __type: 'com.amazon.coral.validate#ValidationException',
      message:
        "1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null",
    });
  });

  it('keeps connections alive across requests', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    agent.on('free', (socket) => sockets.add(socket));
    for (let i = 0; i < 5; i++) {
      const res = await send(server, {
        target: 'DynamoDB_20120810.ListTables',
        contentType: 'application/x-amz-json-1.0',
        body: '{}',
        agent,
      });
      assert.equal(res.status, 200);
      assert.notEqual(res.headers.connection, 'close');
    }
    assert.equal(sockets.size, 1, 'all five requests travelled on one TCP connection');
    agent.destroy();
  });
});
