/**
 * HTTP-level fidelity (issue 11, items 12–16): UnknownOperationException with a message,
 * compressed request bodies, the content type of responses, CORS and the health check.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { crc32, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { CloudTrailClient, CreateTrailCommand } from '@aws-sdk/client-cloudtrail';
import {
  CreateTableCommand,
  DescribeContributorInsightsCommand,
  DescribeKinesisStreamingDestinationCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type ServiceInputTypes,
  type ServiceOutputTypes,
  UpdateContributorInsightsCommand,
} from '@aws-sdk/client-dynamodb';
import type { BuildMiddleware, DeserializeMiddleware, HttpRequest as SdkHttpRequest } from '@smithy/types';
import { rejectsWith } from '../helpers/assert-aws.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const run = promisify(execFile);

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const DDB = 'DynamoDB_20120810';
const KMS = 'TrentService';
const CLOUDTRAIL = 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101';

function authFor(scope: string): string {
  return `AWS4-HMAC-SHA256 Credential=AKIDLOCAL/20240101/us-east-1/${scope}/aws4_request, SignedHeaders=host;x-amz-date, Signature=00`;
}

function send(
  server: TestServer,
  options: {
    method?: string;
    path?: string;
    target?: string;
    contentType?: string;
    body?: string | Buffer;
    headers?: Record<string, string>;
    scope?: string;
    auth?: boolean;
  },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'x-amz-date': '20240101T000000Z' };
    if (options.target) headers['x-amz-target'] = options.target;
    if (options.contentType) headers['content-type'] = options.contentType;
    if (options.auth !== false) headers.authorization = authFor(options.scope ?? 'dynamodb');
    Object.assign(headers, options.headers);
    const req = httpRequest(
      { host: '127.0.0.1', port: server.port, path: options.path ?? '/', method: options.method ?? 'POST', headers },
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

const ddb = (server: TestServer, operation: string, body: unknown, extra: Parameters<typeof send>[1] = {}) =>
  send(server, {
    target: `${DDB}.${operation}`,
    contentType: 'application/x-amz-json-1.0',
    body: JSON.stringify(body),
    ...extra,
  });

async function createTable(server: TestServer, name: string): Promise<void> {
  const res = await ddb(server, 'CreateTable', {
    TableName: name,
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
  });
  assert.equal(res.status, 200, res.body);
}

async function getItem(server: TestServer, table: string, id: string): Promise<unknown> {
  const res = await ddb(server, 'GetItem', { TableName: table, Key: { id: { S: id } } });
  assert.equal(res.status, 200, res.body);
  return (JSON.parse(res.body) as { Item?: unknown }).Item;
}

const putItemBody = (table: string, id: string, padding = '') =>
  `{"TableName":"${table}","Item":{"id":{"S":"${id}"},"v":{"S":"x"}}${padding}}`;

describe('HTTP fidelity', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ inMemory: true, region: 'eu-west-1' });
    await createTable(server, 'fid');
  });
  after(() => server.cleanup());

  describe('UnknownOperationException names the operation (item 12)', () => {
    it('answers unimplemented and unknown DynamoDB operations with a message, in the Coral envelope', async () => {
      for (const operation of [
        'DescribeContributorInsights',
        'DescribeKinesisStreamingDestination',
        'UpdateContributorInsights',
        'Frobnicate',
      ]) {
        const res = await ddb(server, operation, { TableName: 'fid' });
        assert.equal(res.status, 400);
        const body = JSON.parse(res.body) as { __type: string; message?: string };
        assert.equal(body.__type, 'com.amazon.coral.service#UnknownOperationException');
        assert.match(body.message ?? '', new RegExp(`\\b${operation}\\b`), `message names ${operation}`);
      }
      const noTarget = await send(server, { contentType: 'application/x-amz-json-1.0', body: '{}' });
      const noTargetBody = JSON.parse(noTarget.body) as { __type: string; message?: string };
      assert.equal(noTargetBody.__type, 'com.amazon.coral.service#UnknownOperationException');
      assert.match(noTargetBody.message ?? '', /X-Amz-Target/);
    });

    it('words unimplemented operations differently from names DynamoDB does not have', async () => {
      const insights = JSON.parse((await ddb(server, 'DescribeContributorInsights', {})).body) as { message: string };
      const typo = JSON.parse((await ddb(server, 'GetItems', {})).body) as { message: string };
      assert.match(insights.message, /not supported by sealdb/);
      assert.match(typo.message, /not an operation/);
    });

    it('does so for KMS and CloudTrail too, with their bare error types', async () => {
      const kms = await send(server, {
        target: `${KMS}.Frobnicate`,
        contentType: 'application/x-amz-json-1.1',
        body: '{}',
        scope: 'kms',
      });
      assert.equal(kms.status, 400);
      const kmsBody = JSON.parse(kms.body) as { __type: string; message?: string };
      assert.equal(kmsBody.__type, 'UnknownOperationException');
      assert.match(kmsBody.message ?? '', /\bFrobnicate\b/);

      const trail = await send(server, {
        target: `${CLOUDTRAIL}.CreateTrail`,
        contentType: 'application/x-amz-json-1.1',
        body: '{"Name":"t","S3BucketName":"b"}',
        scope: 'cloudtrail',
      });
      assert.equal(trail.status, 400);
      const trailBody = JSON.parse(trail.body) as { __type: string; message?: string };
      assert.equal(trailBody.__type, 'UnknownOperationException');
      assert.match(trailBody.message ?? '', /\bCreateTrail\b.*not supported by sealdb/);
    });

    it('shows the message through the SDK', async () => {
      const client = new DynamoDBClient(server.clientConfig());
      await rejectsWith(
        client.send(new DescribeContributorInsightsCommand({ TableName: 'fid' })),
        'UnknownOperationException',
        /DescribeContributorInsights/,
      );
      await rejectsWith(
        client.send(new DescribeKinesisStreamingDestinationCommand({ TableName: 'fid' })),
        'UnknownOperationException',
        /DescribeKinesisStreamingDestination/,
      );
      await rejectsWith(
        client.send(new UpdateContributorInsightsCommand({ TableName: 'fid', ContributorInsightsAction: 'ENABLE' })),
        'UnknownOperationException',
        /UpdateContributorInsights/,
      );
      const trail = new CloudTrailClient(server.clientConfig());
      await rejectsWith(
        trail.send(new CreateTrailCommand({ Name: 't', S3BucketName: 'b' })),
        'UnknownOperationException',
        /CreateTrail/,
      );
    });

    it('shows the message through the AWS CLI', async () => {
      const home = mkdtempSync(join(tmpdir(), 'sealdb-fid-cli-'));
      try {
        const failure = await run(
          'aws',
          ['dynamodb', 'describe-contributor-insights', '--table-name', 'fid', '--endpoint-url', server.endpoint],
          {
            cwd: home,
            env: {
              PATH: process.env.PATH ?? '',
              HOME: home,
              AWS_ACCESS_KEY_ID: 'AKIDCLITEST',
              AWS_SECRET_ACCESS_KEY: 'cli-test-secret',
              AWS_DEFAULT_REGION: 'eu-west-1',
              AWS_EC2_METADATA_DISABLED: 'true',
              AWS_MAX_ATTEMPTS: '1',
              AWS_PAGER: '',
            },
          },
        ).then(
          () => assert.fail('describe-contributor-insights should fail'),
          (error: { stderr: string }) => error.stderr,
        );
        assert.match(
          failure,
          /An error occurred \(UnknownOperationException\) when calling the DescribeContributorInsights operation: .*DescribeContributorInsights.*not supported by sealdb/,
        );
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    });
  });

  describe('compressed request bodies (item 13)', () => {
    it('decodes gzip and deflate (zlib or raw) bodies', async () => {
      const encodings: Array<[string, string, (b: Buffer) => Buffer]> = [
        ['gzip', 'g1', gzipSync],
        ['deflate', 'd1', deflateSync],
        ['deflate', 'd2', deflateRawSync],
        ['x-gzip', 'g2', gzipSync],
      ];
      for (const [encoding, id, encode] of encodings) {
        const res = await send(server, {
          target: `${DDB}.PutItem`,
          contentType: 'application/x-amz-json-1.0',
          headers: { 'content-encoding': encoding },
          body: encode(Buffer.from(putItemBody('fid', id))),
        });
        assert.equal(res.status, 200, `${encoding}: ${res.body}`);
        assert.deepEqual(await getItem(server, 'fid', id), { id: { S: id }, v: { S: 'x' } });
      }
      // Several gzip members concatenated are one body (RFC 1952).
      const text = putItemBody('fid', 'g3');
      const twoMembers = Buffer.concat([gzipSync(text.slice(0, 10)), gzipSync(text.slice(10))]);
      const res = await send(server, {
        target: `${DDB}.PutItem`,
        contentType: 'application/x-amz-json-1.0',
        headers: { 'content-encoding': 'gzip' },
        body: twoMembers,
      });
      assert.equal(res.status, 200, res.body);
      assert.ok(await getItem(server, 'fid', 'g3'));
    });

    it('refuses other encodings with an AWS-shaped 415 and writes nothing', async () => {
      const res = await send(server, {
        target: `${DDB}.PutItem`,
        contentType: 'application/x-amz-json-1.0',
        headers: { 'content-encoding': 'br' },
        body: putItemBody('fid', 'br1'),
      });
      assert.equal(res.status, 415);
      assert.equal(res.headers['accept-encoding'], 'gzip, deflate');
      const body = JSON.parse(res.body) as { __type: string; message: string };
      assert.equal(body.__type, 'com.amazon.coral.service#SerializationException');
      assert.match(body.message, /Content-Encoding 'br' is not supported/);
      assert.equal(await getItem(server, 'fid', 'br1'), undefined);
    });

    it('refuses a body that is not what its Content-Encoding says, and writes nothing', async () => {
      const truncated = gzipSync(putItemBody('fid', 'bad2'));
      for (const [id, body] of [
        ['bad1', Buffer.from(putItemBody('fid', 'bad1'))],
        ['bad2', truncated.subarray(0, truncated.length - 1)],
      ] as const) {
        const res = await send(server, {
          target: `${DDB}.PutItem`,
          contentType: 'application/x-amz-json-1.0',
          headers: { 'content-encoding': 'gzip' },
          body,
        });
        assert.equal(res.status, 400, res.body);
        const parsed = JSON.parse(res.body) as { __type: string; message: string };
        assert.equal(parsed.__type, 'com.amazon.coral.service#SerializationException');
        assert.match(parsed.message, /gzip/);
        assert.equal(await getItem(server, 'fid', id), undefined);
      }
    });

    it('applies the 16 MiB limit to the decoded body (a gzip bomb is refused)', async () => {
      const bomb = gzipSync(putItemBody('fid', 'bomb', ' '.repeat(20 * 1024 * 1024)));
      assert.ok(bomb.length < 100_000);
      const before = process.memoryUsage().rss;
      const res = await send(server, {
        target: `${DDB}.PutItem`,
        contentType: 'application/x-amz-json-1.0',
        headers: { 'content-encoding': 'gzip' },
        body: bomb,
      });
      assert.equal(res.status, 413);
      assert.ok(process.memoryUsage().rss - before < 200 * 1024 * 1024);
      assert.equal(await getItem(server, 'fid', 'bomb'), undefined);
      // Just under the limit once decoded is still accepted.
      const fits = gzipSync(putItemBody('fid', 'fits', ' '.repeat(15 * 1024 * 1024)));
      const ok = await send(server, {
        target: `${DDB}.PutItem`,
        contentType: 'application/x-amz-json-1.0',
        headers: { 'content-encoding': 'gzip' },
        body: fits,
      });
      assert.equal(ok.status, 200, ok.body);
    });
  });

  describe('response content type follows the request (item 14)', () => {
    it('answers DynamoDB calls in application/json or x-amz-json-1.0 as sent, errors included', async () => {
      for (const contentType of ['application/json', 'application/x-amz-json-1.0']) {
        const ok = await ddb(server, 'ListTables', {}, { contentType });
        assert.equal(ok.status, 200);
        assert.equal(ok.headers['content-type'], contentType);
        assert.equal(Number(ok.headers['x-amz-crc32']), crc32(Buffer.from(ok.body)));
        const error = await ddb(server, 'DescribeTable', { TableName: 'missing' }, { contentType });
        assert.equal(error.status, 400);
        assert.equal(error.headers['content-type'], contentType);
        assert.equal(Number(error.headers['x-amz-crc32']), crc32(Buffer.from(error.body)));
        const unknown = await ddb(server, 'Frobnicate', {}, { contentType });
        assert.equal(unknown.headers['content-type'], contentType);
      }
      const charset = await ddb(server, 'ListTables', {}, { contentType: 'application/json; charset=utf-8' });
      assert.equal(charset.headers['content-type'], 'application/json');
    });

    it('answers KMS and CloudTrail calls in application/json or x-amz-json-1.1 as sent', async () => {
      for (const contentType of ['application/json', 'application/x-amz-json-1.1']) {
        const keys = await send(server, { target: `${KMS}.ListKeys`, contentType, body: '{}', scope: 'kms' });
        assert.equal(keys.status, 200, keys.body);
        assert.equal(keys.headers['content-type'], contentType);
        const missing = await send(server, {
          target: `${KMS}.DescribeKey`,
          contentType,
          body: '{"KeyId":"alias/none"}',
          scope: 'kms',
        });
        assert.equal(missing.status, 400);
        assert.equal(missing.headers['content-type'], contentType);
        const trail = await send(server, {
          target: `${CLOUDTRAIL}.LookupEvents`,
          contentType,
          body: '{}',
          scope: 'cloudtrail',
        });
        assert.equal(trail.status, 200, trail.body);
        assert.equal(trail.headers['content-type'], contentType);
      }
    });
  });

  describe('CORS (item 15)', () => {
    const ORIGIN = 'http://app.example';

    it('answers a preflight with the requested headers and methods allowed', async () => {
      const res = await send(server, {
        method: 'OPTIONS',
        auth: false,
        headers: {
          origin: ORIGIN,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,x-amz-target,authorization,x-amz-date,amz-sdk-invocation-id',
        },
      });
      assert.equal(res.status, 200);
      assert.equal(res.body, '');
      assert.equal(res.headers['content-length'], '0');
      assert.equal(res.headers['access-control-allow-origin'], '*');
      assert.equal(res.headers['access-control-allow-methods'], 'POST');
      assert.equal(
        res.headers['access-control-allow-headers'],
        'content-type,x-amz-target,authorization,x-amz-date,amz-sdk-invocation-id',
      );
      assert.equal(res.headers['access-control-max-age'], '172800');
      assert.match(String(res.headers['x-amzn-requestid']), /^[A-Z0-9]{52}$/);
    });

    it('sends Allow-Origin and Expose-Headers on every response to a cross-origin call, errors included', async () => {
      const ok = await ddb(server, 'ListTables', {}, { headers: { origin: ORIGIN } });
      const error = await ddb(server, 'DescribeTable', { TableName: 'missing' }, { headers: { origin: ORIGIN } });
      const notFound = await send(server, { method: 'PUT', headers: { origin: ORIGIN } });
      for (const res of [ok, error, notFound]) {
        assert.equal(res.headers['access-control-allow-origin'], '*');
        const exposed = String(res.headers['access-control-expose-headers']).toLowerCase().split(',');
        for (const name of ['x-amzn-requestid', 'x-amzn-errortype', 'x-amzn-errormessage', 'date', 'x-amz-crc32']) {
          assert.ok(exposed.includes(name), `${name} exposed`);
        }
        assert.equal(res.headers['access-control-max-age'], undefined);
      }
      assert.equal(ok.status, 200);
      assert.equal(error.status, 400);
    });

    it('sends no CORS headers without an Origin, and answers OPTIONS without one as DynamoDB does', async () => {
      const ok = await ddb(server, 'ListTables', {});
      assert.equal(ok.headers['access-control-allow-origin'], undefined);
      assert.equal(ok.headers['access-control-expose-headers'], undefined);
      const options = await send(server, { method: 'OPTIONS', auth: false });
      assert.equal(options.status, 404);
      assert.equal(options.headers['access-control-allow-origin'], undefined);
    });

    it('gives CORS headers only to the configured origins when a list is set', async () => {
      const scoped = await startTestServer({ inMemory: true, corsAllowedOrigins: [ORIGIN] });
      try {
        const allowed = await ddb(scoped, 'ListTables', {}, { headers: { origin: ORIGIN } });
        assert.equal(allowed.status, 200);
        assert.equal(allowed.headers['access-control-allow-origin'], ORIGIN);
        assert.match(String(allowed.headers.vary), /Origin/i);
        const preflight = await send(scoped, {
          method: 'OPTIONS',
          auth: false,
          headers: { origin: ORIGIN, 'access-control-request-method': 'POST' },
        });
        assert.equal(preflight.status, 200);
        assert.equal(preflight.headers['access-control-allow-origin'], ORIGIN);

        const other = await ddb(scoped, 'ListTables', {}, { headers: { origin: 'http://evil.example' } });
        assert.equal(other.status, 200);
        assert.equal(other.headers['access-control-allow-origin'], undefined);
        assert.equal(other.headers['access-control-expose-headers'], undefined);
        const otherPreflight = await send(scoped, {
          method: 'OPTIONS',
          auth: false,
          headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
        });
        assert.equal(otherPreflight.headers['access-control-allow-origin'], undefined);
        assert.equal(otherPreflight.headers['access-control-allow-methods'], undefined);
      } finally {
        await scoped.cleanup();
      }
    });
  });

  describe('health check (item 16)', () => {
    it('answers GET / with the healthy line for the server region', async () => {
      const res = await send(server, { method: 'GET', auth: false });
      assert.equal(res.status, 200);
      assert.equal(res.body, 'healthy: dynamodb.eu-west-1.amazonaws.com ');
      assert.equal(res.headers['content-length'], String(res.body.length));
      assert.equal(Number(res.headers['x-amz-crc32']), crc32(Buffer.from(res.body)));
      assert.match(String(res.headers['x-amzn-requestid']), /^[A-Z0-9]{52}$/);
      // Only the root is the health check.
      const other = await send(server, { method: 'GET', path: '/health', auth: false });
      assert.equal(other.status, 404);
    });
  });
});

describe('compressed bodies under strict SigV4 (item 13)', () => {
  const KEY = { accessKeyId: 'AKIAGZIP000000000001', secretAccessKey: 'gzip-secret-key' };
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      inMemory: true,
      auth: { accounts: [{ accountId: '111111111111', accessKeys: [KEY] }] },
    });
  });
  after(() => server.cleanup());

  const gzipBody = (request: SdkHttpRequest) => {
    // The SDK serialises to a Uint8Array (or, in older versions, a string).
    const json = request.body as Uint8Array | string;
    const compressed = gzipSync(
      typeof json === 'string' ? Buffer.from(json) : Buffer.from(json.buffer, json.byteOffset, json.byteLength),
    );
    request.body = compressed;
    request.headers['content-encoding'] = 'gzip';
    request.headers['content-length'] = String(compressed.length);
  };

  it('verifies the signature over the compressed bytes the SDK sent', async () => {
    const client = new DynamoDBClient(server.clientConfig(KEY));
    // What the SDK's requestCompression does: compress in the build step, before signing.
    const compress: BuildMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next) => (args) => {
      gzipBody(args.request as SdkHttpRequest);
      return next(args);
    };
    client.middlewareStack.add(compress, { step: 'build', name: 'testGzip', priority: 'low' });
    await client.send(
      new CreateTableCommand({
        TableName: 'gzt',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await client.send(new PutItemCommand({ TableName: 'gzt', Item: { id: { S: 'a' }, v: { S: 'zipped' } } }));
    const got = await client.send(new GetItemCommand({ TableName: 'gzt', Key: { id: { S: 'a' } } }));
    assert.deepEqual(got.Item, { id: { S: 'a' }, v: { S: 'zipped' } });
  });

  it('refuses a body compressed after it was signed, and writes nothing', async () => {
    const client = new DynamoDBClient(server.clientConfig(KEY));
    // The deserialize step runs after signing: the signature covers the uncompressed JSON.
    const compressAfterSigning: DeserializeMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next) => (args) => {
      gzipBody(args.request as SdkHttpRequest);
      return next(args);
    };
    client.middlewareStack.add(compressAfterSigning, { step: 'deserialize', name: 'testLateGzip', priority: 'low' });
    await rejectsWith(
      client.send(new PutItemCommand({ TableName: 'gzt', Item: { id: { S: 'late' } } })),
      'InvalidSignatureException',
    );
    const plain = new DynamoDBClient(server.clientConfig(KEY));
    const got = await plain.send(new GetItemCommand({ TableName: 'gzt', Key: { id: { S: 'late' } } }));
    assert.equal(got.Item, undefined);
  });
});
