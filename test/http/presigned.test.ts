/**
 * Presigned (query-string) SigV4 under `--auth strict` (issue 17): requests signed with the AWS
 * SDK's own signer, @smithy/signature-v4's presign (X-Amz-Algorithm, X-Amz-Credential,
 * X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Signature and X-Amz-Security-Token in the
 * query string), are accepted by DynamoDB and KMS as AWS accepts them, and refused when forged,
 * out of their 15-minute window, with X-Amz-Expires out of bounds, with a session token sealdb
 * cannot know, or with an Authorization header besides (see src/http/sigv4.ts for the sources).
 */
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { SignatureV4 } from '@smithy/signature-v4';
import type { SourceData } from '@smithy/types';
import { startTestServer, type TestServer } from '../helpers/server.js';

const ALICE = { accessKeyId: 'AKIAALICE0000000001', secretAccessKey: 'alice/presign+secret' };
const MINUTE = 60_000;

const bytes = (data: SourceData): string | Uint8Array =>
  typeof data === 'string'
    ? data
    : ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data);

/** The hash @smithy/signature-v4 asks for: SHA-256, or HMAC-SHA256 under a secret. */
class Sha256 {
  readonly #hash;
  constructor(secret?: SourceData) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.#hash.update(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.#hash.digest()));
  }
}

interface Presigned {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

interface PresignInput {
  readonly service: 'dynamodb' | 'kms';
  readonly at: number;
  readonly expiresIn?: number;
  readonly sessionToken?: string;
  readonly secretAccessKey?: string;
  readonly body?: string;
}

const TARGETS = { dynamodb: 'DynamoDB_20120810.ListTables', kms: 'TrentService.ListKeys' };
const CONTENT_TYPES = { dynamodb: 'application/x-amz-json-1.0', kms: 'application/x-amz-json-1.1' };

describe('presigned query-string SigV4 (strict auth)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      auth: { accounts: [{ accountId: '111111111111', accessKeys: [{ ...ALICE, userName: 'alice' }] }] },
    });
  });
  after(() => server.cleanup());

  async function presign(input: PresignInput): Promise<Presigned> {
    const body = input.body ?? '{}';
    const signer = new SignatureV4({
      service: input.service,
      region: 'us-east-1',
      sha256: Sha256,
      credentials: {
        accessKeyId: ALICE.accessKeyId,
        secretAccessKey: input.secretAccessKey ?? ALICE.secretAccessKey,
        ...(input.sessionToken ? { sessionToken: input.sessionToken } : {}),
      },
    });
    const headers = {
      host: `127.0.0.1:${server.port}`,
      'content-type': CONTENT_TYPES[input.service],
      'x-amz-target': TARGETS[input.service],
    };
    const signed = await signer.presign(
      {
        method: 'POST',
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: server.port,
        path: '/',
        query: {},
        headers,
        body,
      },
      {
        signingDate: new Date(input.at),
        expiresIn: input.expiresIn ?? 300,
        // The operation travels in its header, as the JSON protocols route it; the rest is signed.
        unhoistableHeaders: new Set(['x-amz-target']),
      },
    );
    const query = Object.entries(signed.query ?? {})
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&');
    return { path: `/?${query}`, headers: signed.headers as Record<string, string>, body };
  }

  function send(
    r: Presigned,
    change: (r: Presigned) => Presigned = (x) => x,
  ): Promise<{ status: number; type: string; message: string }> {
    const { path, headers, body } = change(r);
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: server.port, method: 'POST', path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const parsed = JSON.parse(Buffer.concat(chunks).toString() || '{}') as {
            __type?: string;
            message?: string;
            Message?: string;
          };
          resolve({
            status: res.statusCode ?? 0,
            type:
              String(parsed.__type ?? '')
                .split('#')
                .pop() ?? '',
            message: parsed.message ?? parsed.Message ?? '',
          });
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  const now = () => server.clock.now();

  for (const service of ['dynamodb', 'kms'] as const) {
    it(`${service}: the SDK's presigned request is accepted, and one forged digit refuses it`, async () => {
      const r = await presign({ service, at: now() });
      assert.ok(r.path.includes('X-Amz-Signature='), r.path);
      assert.ok(r.path.includes('X-Amz-Expires=300'), r.path);
      assert.equal((await send(r)).status, 200);
      const forged = await send(r, (x) => ({
        ...x,
        path: x.path.replace(
          /X-Amz-Signature=([0-9a-f])/,
          (_, d: string) => `X-Amz-Signature=${d === 'a' ? 'b' : 'a'}`,
        ),
      }));
      assert.equal(forged.type, 'InvalidSignatureException');
      assert.match(forged.message, /The request signature we calculated does not match/);
    });

    it(`${service}: the body, a signed query parameter and the secret are covered`, async () => {
      const r = await presign({ service, at: now() });
      assert.equal((await send(r, (x) => ({ ...x, body: '{"Limit":5}' }))).type, 'InvalidSignatureException');
      const longer = await send(r, (x) => ({ ...x, path: x.path.replace('X-Amz-Expires=300', 'X-Amz-Expires=900') }));
      assert.equal(longer.type, 'InvalidSignatureException');
      const wrong = await presign({ service, at: now(), secretAccessKey: 'not-alices' });
      assert.equal((await send(wrong)).type, 'InvalidSignatureException');
    });
  }

  it("the window is the header form's 15 minutes, whatever X-Amz-Expires says (only S3 honours it)", async () => {
    // Within 15 minutes: accepted even past a shorter X-Amz-Expires (AWS's fixed window for non-S3).
    assert.equal(
      (await send(await presign({ service: 'dynamodb', at: now() - 14 * MINUTE, expiresIn: 60 }))).status,
      200,
    );
    assert.equal((await send(await presign({ service: 'kms', at: now() + 14 * MINUTE }))).status, 200);
    // Beyond: refused as AWS refuses it, even with a week's X-Amz-Expires.
    const stale = await send(await presign({ service: 'dynamodb', at: now() - 16 * MINUTE, expiresIn: 604_800 }));
    assert.equal(stale.type, 'InvalidSignatureException');
    assert.match(
      stale.message,
      /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$/,
    );
    const early = await send(await presign({ service: 'kms', at: now() + 16 * MINUTE }));
    assert.equal(early.type, 'InvalidSignatureException');
    assert.match(early.message, /^Signature not yet current: /);
  });

  it('X-Amz-Expires outside 1..604800 (or not a number) is refused before the signature', async () => {
    const r = await presign({ service: 'dynamodb', at: now() });
    for (const bad of ['0', '604801', '-5', 'abc', '1.5']) {
      const got = await send(r, (x) => ({ ...x, path: x.path.replace('X-Amz-Expires=300', `X-Amz-Expires=${bad}`) }));
      assert.equal(got.status, 400, bad);
      assert.equal(got.type, 'IncompleteSignatureException', bad);
      assert.match(got.message, /X-Amz-Expires must be an integer from 1 to 604800/, bad);
    }
    // The bounds themselves are signable and accepted.
    for (const expiresIn of [1, 604_800]) {
      assert.equal((await send(await presign({ service: 'dynamodb', at: now(), expiresIn }))).status, 200);
    }
  });

  it('a missing parameter, a session token and a second mechanism are refused', async () => {
    const r = await presign({ service: 'kms', at: now() });
    const noCredential = await send(r, (x) => ({ ...x, path: x.path.replace(/&?X-Amz-Credential=[^&]*/, '') }));
    assert.equal(noCredential.type, 'IncompleteSignatureException');
    assert.match(noCredential.message, /missing X-Amz-Credential/);
    // Only long-term keys are configured: a token (signed, in X-Amz-Security-Token) cannot be valid.
    const token = await send(await presign({ service: 'dynamodb', at: now(), sessionToken: 'FQoGZXIvYXdzEXAMPLE' }));
    assert.equal(token.type, 'UnrecognizedClientException');
    assert.match(token.message, /The security token included in the request is invalid/);
    const both = await send(r, (x) => ({
      ...x,
      headers: {
        ...x.headers,
        authorization: `AWS4-HMAC-SHA256 Credential=${ALICE.accessKeyId}/x, SignedHeaders=host, Signature=00`,
      },
    }));
    assert.equal(both.type, 'InvalidSignatureException');
    assert.match(both.message, /Only one auth mechanism allowed/);
  });
});
