/** The AWS CLI against sealdb's DynamoDB Streams: the same endpoint URL as DynamoDB. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { STREAM_TRANSITION_MS } from '../../src/streams/definition.js';
import { startTestServer } from '../helpers/server.js';

const run = promisify(execFile);

// .ci/run installs the AWS CLI (as for test/kms/cli-smoke.test.ts); without it this test fails rather than hides.
test('aws dynamodbstreams list-streams, describe-stream, get-shard-iterator, get-records', async () => {
  const server = await startTestServer({ inMemory: true });
  const work = mkdtempSync(join(tmpdir(), 'sealdb-streams-cli-'));
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: work,
    AWS_ACCESS_KEY_ID: 'AKIDCLITEST',
    AWS_SECRET_ACCESS_KEY: 'cli-test-secret',
    AWS_DEFAULT_REGION: server.region,
    AWS_REGION: server.region,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
  };
  const aws = async (...args: string[]) => {
    const { stdout } = await run('aws', [...args, '--endpoint-url', server.endpoint, '--output', 'json'], {
      env,
      cwd: work,
    });
    return JSON.parse(stdout || '{}') as Record<string, unknown>;
  };
  try {
    await aws(
      'dynamodb',
      'create-table',
      '--table-name',
      'cli-stream',
      '--attribute-definitions',
      'AttributeName=pk,AttributeType=S',
      '--key-schema',
      'AttributeName=pk,KeyType=HASH',
      '--billing-mode',
      'PAY_PER_REQUEST',
      '--stream-specification',
      'StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES',
    );
    await aws('dynamodb', 'put-item', '--table-name', 'cli-stream', '--item', '{"pk":{"S":"from-cli"},"n":{"N":"42"}}');
    const listed = (await aws('dynamodbstreams', 'list-streams', '--table-name', 'cli-stream')).Streams as {
      StreamArn: string;
    }[];
    assert.equal(listed.length, 1);
    const arn = listed[0]?.StreamArn as string;
    // Past the moment of ENABLING, however fast the CLI ran.
    server.clock.advance(STREAM_TRANSITION_MS);
    const described = (await aws('dynamodbstreams', 'describe-stream', '--stream-arn', arn)).StreamDescription as {
      StreamStatus: string;
      Shards: { ShardId: string }[];
    };
    assert.equal(described.StreamStatus, 'ENABLED');
    const iterator = (
      await aws(
        'dynamodbstreams',
        'get-shard-iterator',
        '--stream-arn',
        arn,
        '--shard-id',
        described.Shards[0]?.ShardId as string,
        '--shard-iterator-type',
        'TRIM_HORIZON',
      )
    ).ShardIterator as string;
    const records = await aws('dynamodbstreams', 'get-records', '--shard-iterator', iterator);
    const [record] = records.Records as { eventName: string; dynamodb: { NewImage: unknown } }[];
    assert.equal(record?.eventName, 'INSERT');
    assert.deepEqual(record?.dynamodb.NewImage, { pk: { S: 'from-cli' }, n: { N: '42' } });
    assert.ok(records.NextShardIterator);
    await assert.rejects(
      aws('dynamodbstreams', 'get-records', '--shard-iterator', 'not-an-iterator'),
      (error: Error & { stderr?: string }) => {
        assert.match(error.stderr ?? '', /ValidationException.*Invalid ShardIterator/);
        return true;
      },
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
    await server.cleanup();
  }
});
