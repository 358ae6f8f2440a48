/**
 * Every operation of every service, fed each input member with values of the wrong kind:
 * the answer is always an AWS-shaped client error, never a server error.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startTestServer, type TestServer } from '../helpers/server.js';

const SERVICES = [
  { scope: 'dynamodb', prefix: 'DynamoDB_20120810', contentType: 'application/x-amz-json-1.0', model: 'dynamodb' },
  { scope: 'kms', prefix: 'TrentService', contentType: 'application/x-amz-json-1.1', model: 'kms' },
  {
    scope: 'cloudtrail',
    prefix: 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101',
    contentType: 'application/x-amz-json-1.1',
    model: 'cloudtrail',
  },
] as const;

const WRONG_VALUES: unknown[] = [null, -1, 1e308, '', 'alias/aws/dynamodb', true, [{}], { S: 'x' }];

interface CompactModel {
  operations: Record<string, { input?: string }>;
  shapes: Record<string, { members?: { name: string }[] }>;
}

function loadModel(name: string): CompactModel {
  // The compiled test runs from dist/test/http; the models are JSON beside the sources.
  const path = fileURLToPath(new URL(`../../src/${name}/model.json`, import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8')) as CompactModel;
}

describe('malformed input', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ inMemory: true });
  });
  after(() => server.cleanup());

  for (const service of SERVICES) {
    it(`never makes ${service.scope} answer with a server error`, async () => {
      const model = loadModel(service.model);
      let requests = 0;
      const failures: string[] = [];
      for (const [operation, { input }] of Object.entries(model.operations)) {
        const members = input ? (model.shapes[input]?.members ?? []).map((m) => m.name) : [];
        const bodies: Record<string, unknown>[] = [{}];
        for (const member of members) for (const value of WRONG_VALUES) bodies.push({ [member]: value });
        for (const body of bodies) {
          const response = await fetch(server.endpoint, {
            method: 'POST',
            headers: {
              'content-type': service.contentType,
              'x-amz-target': `${service.prefix}.${operation}`,
              authorization: `AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/${service.scope}/aws4_request, SignedHeaders=host;x-amz-date, Signature=00`,
              'x-amz-date': '20240101T000000Z',
            },
            body: JSON.stringify(body),
          });
          const text = await response.text();
          requests++;
          if (response.status >= 500)
            failures.push(`${operation} ${JSON.stringify(body)} → ${response.status} ${text}`);
          else if (response.status >= 400) assert.match(text, /"__type":"[^"]+"/, `${operation}: an AWS-shaped error`);
        }
      }
      assert.ok(requests > 500, `exercised ${requests} requests`);
      assert.deepEqual(failures, []);
    });
  }
});
