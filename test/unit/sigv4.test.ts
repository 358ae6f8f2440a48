import assert from 'node:assert/strict';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { SignatureV4 } from '@smithy/signature-v4';
import { ManualClock } from '../../src/core/clock.js';
import { type AccountConfig, iamUserId, LocalAuthenticator, StrictAuthenticator } from '../../src/http/auth.js';
import { AwsError } from '../../src/http/aws-error.js';
import type { Principal } from '../../src/http/service.js';
import { canonicalQuery, parseAuthorization, type SignedRequest, verifySignature } from '../../src/http/sigv4.js';

type SourceData = string | ArrayBuffer | ArrayBufferView;

/** The SDK's Sha256 contract (plain hash, or HMAC when given a secret) backed by node:crypto. */
class NodeSha256 {
  #hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }
  update(data: SourceData): void {
    this.#hash.update(toBuffer(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }
  reset(): void {
    throw new Error('not needed');
  }
}

function toBuffer(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

const NOW = Date.UTC(2024, 0, 15, 12, 30, 45);
const ACCOUNT = '111122223333';
const ROOT_KEY = { accessKeyId: 'AKIAROOTROOTROOT0001', secretAccessKey: 'root/secret+key/aaaaaaaaaaaaaaaaaaaaaaaa' };
const USER_KEY = {
  accessKeyId: 'AKIAUSERUSERUSER0001',
  secretAccessKey: 'user/secret+key/bbbbbbbbbbbbbbbbbbbbbbbb',
  userName: 'alice',
};
const ACCOUNTS: AccountConfig[] = [{ accountId: ACCOUNT, accessKeys: [ROOT_KEY, USER_KEY] }];
const BODY = '{"TableName":"Music","Key":{"Artist":{"S":"Acme"}}}';

interface SignOptions {
  accessKeyId?: string;
  secretAccessKey?: string;
  service?: string;
  region?: string;
  signingDate?: number;
  body?: string;
  path?: string;
  query?: Record<string, string>;
  sessionToken?: string;
}

async function sign(opts: SignOptions = {}): Promise<SignedRequest> {
  const signer = new SignatureV4({
    service: opts.service ?? 'dynamodb',
    region: opts.region ?? 'us-east-1',
    sha256: NodeSha256,
    credentials: {
      accessKeyId: opts.accessKeyId ?? ROOT_KEY.accessKeyId,
      secretAccessKey: opts.secretAccessKey ?? ROOT_KEY.secretAccessKey,
      ...(opts.sessionToken ? { sessionToken: opts.sessionToken } : {}),
    },
  });
  const body = opts.body ?? BODY;
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: 'localhost',
      port: 8000,
      path: opts.path ?? '/',
      query: opts.query ?? {},
      headers: {
        host: 'localhost:8000',
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'DynamoDB_20120810.GetItem',
      },
      body,
    },
    { signingDate: new Date(opts.signingDate ?? NOW) },
  );
  // Deliver the request as node:http would: lower-case header names.
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers)) headers[k.toLowerCase()] = v;
  const query = Object.entries(opts.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  return { method: 'POST', path: opts.path ?? '/', query, headers, body: Buffer.from(body) };
}

function fixedClock(): ManualClock {
  return new ManualClock({ now: () => NOW });
}

function expectAws(fn: () => unknown, code: string, message?: string | RegExp): AwsError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof AwsError, `expected AwsError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code);
  if (typeof message === 'string') assert.equal(caught.message, message);
  else if (message) assert.match(caught.message, message);
  return caught;
}

const MISMATCH =
  'The request signature we calculated does not match the signature you provided. ' +
  'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

describe('StrictAuthenticator', () => {
  it('accepts a valid root signature', async () => {
    const auth = new StrictAuthenticator(ACCOUNTS, fixedClock());
    const { principal } = auth.authenticate(await sign(), 'dynamodb');
    assert.deepEqual(principal, {
      type: 'Root',
      accountId: ACCOUNT,
      arn: `arn:aws:iam::${ACCOUNT}:root`,
      principalId: ACCOUNT,
      accessKeyId: ROOT_KEY.accessKeyId,
    });
  });

  it('maps a user key to a stable IAMUser principal', async () => {
    const auth = new StrictAuthenticator(ACCOUNTS, fixedClock());
    const req = await sign({ accessKeyId: USER_KEY.accessKeyId, secretAccessKey: USER_KEY.secretAccessKey });
    const { principal } = auth.authenticate(req, 'dynamodb');
    assert.equal(principal.type, 'IAMUser');
    assert.equal(principal.arn, `arn:aws:iam::${ACCOUNT}:user/alice`);
    assert.equal(principal.userName, 'alice');
    assert.equal(principal.accessKeyId, USER_KEY.accessKeyId);
    assert.match(principal.principalId, /^AIDA[A-Z2-7]{17}$/);
    assert.equal(principal.principalId, iamUserId(ACCOUNT, 'alice'));
    assert.notEqual(iamUserId(ACCOUNT, 'alice'), iamUserId(ACCOUNT, 'bob'));
    assert.notEqual(iamUserId(ACCOUNT, 'alice'), iamUserId('444455556666', 'alice'));
  });

  it('rejects a one-byte body change', async () => {
    const auth = new StrictAuthenticator(ACCOUNTS, fixedClock());
    const req = await sign();
    const body = Buffer.from(req.body);
    body[body.length - 2] = (body[body.length - 2] as number) ^ 1;
    expectAws(() => auth.authenticate({ ...req, body }, 'dynamodb'), 'InvalidSignatureException', MISMATCH);
  });

  it('rejects a changed signed header', async () => {
    const auth = new StrictAuthenticator(ACCOUNTS, fixedClock());
    const req = await sign();
    const headers = { ...req.headers, 'x-amz-target': 'DynamoDB_20120810.DeleteItem' };
    expectAws(() => auth.authenticate({ ...req, headers }, 'dynamodb'), 'InvalidSignatureException', MISMATCH);
  });

  it('rejects the wrong secret without echoing any secret', async () => {
    const auth = new StrictAuthenticator(ACCOUNTS, fixedClock());
    const req = await sign({ secretAccessKey: 'not-the-right-secret' });
    const err = expectAws(() => auth.authenticate(req, 'dynamodb'), 'InvalidSignatureException', MISMATCH);
    assert.ok(!err.message.includes(ROOT_KEY.secretAccessKey));
    assert.ok(!err.message.includes('not-the-right-secret'));
  });

  it('rejects a truncated or non-hex signature', async () => {
    const auth = new StrictAuthenticator(ACCOUNTS, fixedClock());
    const req = await sign();
    const good = req.headers.authorization as string;
    for (const bad of [good.slice(0, -1), good.replace(/Signature=\w+/, 'Signature=zz')]) {
      const headers = { ...req.headers, authorization: bad };
      expectAws(() => auth.authenticate({ ...req, headers }, 'dynamodb'), 'InvalidSignatureException', MISMATCH);
    }
  });

  it('rejects a credential scoped to another service', async () => {
    const auth = new StrictAuthenticator(ACCOUNTS, fixedClock());
    const req = await sign({ service: 'kms' });
    expectAws(
      () => auth.authenticate(req, 'dynamodb'),
      'InvalidSignatureException',
      "Credential should be scoped to correct service: 'dynamodb'. ",
    );
    // The same request is fine where kms is the signing name.
    assert.equal(auth.authenticate(req, 'kms').principal.accountId, ACCOUNT);
  });

  it('rejects a request signed 16 minutes ago', async () => {
    const clock = fixedClock();
    const auth = new StrictAuthenticator(ACCOUNTS, clock);
    const req = await sign();
    clock.advance(14 * 60 * 1000);
    assert.equal(auth.authenticate(req, 'dynamodb').principal.accountId, ACCOUNT);
    clock.advance(2 * 60 * 1000);
    expectAws(
      () => auth.authenticate(req, 'dynamodb'),
      'InvalidSignatureException',
      'Signature expired: 20240115T123045Z is now earlier than 20240115T123145Z (20240115T124645Z - 15 min.)',
    );
  });

  it('rejects a request signed 16 minutes in the future', async () => {
    const auth = new StrictAuthenticator(ACCOUNTS, fixedClock());
    const req = await sign({ signingDate: NOW + 16 * 60 * 1000 });
    expectAws(
      () => auth.authenticate(req, 'dynamodb'),
      'InvalidSignatureException',
      'Signature not yet current: 20240115T124645Z is still later than 20240115T124545Z (20240115T123045Z + 15 min.)',
    );
  });

  it('rejects an unknown access key', async () => {
    const auth = new StrictAuthenticator(ACCOUNTS, fixedClock());
    const req = await sign({ accessKeyId: 'AKIAUNKNOWNUNKNOWN00' });
    expectAws(
      () => auth.authenticate(req, 'dynamodb'),
      'UnrecognizedClientException',
      'The security token included in the request is invalid.',
    );
  });

  it('rejects a session token it cannot have issued', async () => {
    const auth = new StrictAuthenticator(ACCOUNTS, fixedClock());
    const req = await sign({ sessionToken: 'FwoGZXIvYXdzEBY' });
    assert.equal(parseAuthorization(req.headers).securityToken, 'FwoGZXIvYXdzEBY');
    expectAws(() => auth.authenticate(req, 'dynamodb'), 'UnrecognizedClientException');
  });

  it('verifies signed paths and query strings the way the SDK signs them', async () => {
    const auth = new StrictAuthenticator(ACCOUNTS, fixedClock());
    const query = { b: '2', a: "x y!'*", 'c~d': '/' };
    // The SDK signs the wire path URI-encoded a second time.
    const req = await sign({ path: '/some%20path/./x', query });
    assert.equal(auth.authenticate(req, 'dynamodb').principal.accountId, ACCOUNT);
    expectAws(() => auth.authenticate({ ...req, path: '/some path/x' }, 'dynamodb'), 'InvalidSignatureException');
    expectAws(() => auth.authenticate({ ...req, query: 'b=3' }, 'dynamodb'), 'InvalidSignatureException');
  });

  it('refuses duplicate access key ids across accounts', () => {
    assert.throws(
      () =>
        new StrictAuthenticator(
          [...ACCOUNTS, { accountId: '444455556666', accessKeys: [{ ...ROOT_KEY, secretAccessKey: 'x' }] }],
          fixedClock(),
        ),
      /Duplicate access key id/,
    );
  });
});

describe('LocalAuthenticator', () => {
  it('accepts any key and any signature as the default account root', async () => {
    const auth = new LocalAuthenticator();
    const req = await sign({ accessKeyId: 'anything', secretAccessKey: 'whatever', service: 'kms', signingDate: 0 });
    const headers = {
      ...req.headers,
      authorization: (req.headers.authorization as string).replace(/Signature=\w+/, 'Signature=00'),
    };
    assert.deepEqual(auth.authenticate({ ...req, headers }, 'dynamodb').principal, {
      type: 'Root',
      accountId: '000000000000',
      arn: 'arn:aws:iam::000000000000:root',
      principalId: '000000000000',
      accessKeyId: 'anything',
    });
    assert.equal(
      new LocalAuthenticator('123456789012').authenticate(req, 'dynamodb').principal.arn,
      'arn:aws:iam::123456789012:root',
    );
  });

  it('still requires an Authorization header', async () => {
    const req = await sign();
    const { authorization: _drop, ...headers } = req.headers;
    expectAws(
      () => new LocalAuthenticator().authenticate({ ...req, headers }, 'dynamodb'),
      'MissingAuthenticationTokenException',
      'Request is missing Authentication Token',
    );
  });
});

describe('parseAuthorization', () => {
  const base = { 'x-amz-date': '20240115T123045Z', host: 'localhost' };
  const good =
    'AWS4-HMAC-SHA256 Credential=AKID/20240115/us-east-1/dynamodb/aws4_request, ' +
    'SignedHeaders=content-type;host;x-amz-date, Signature=abcd';

  it('parses a well-formed header', () => {
    const parsed = parseAuthorization({ ...base, authorization: good });
    assert.equal(parsed.accessKeyId, 'AKID');
    assert.equal(parsed.date, '20240115');
    assert.equal(parsed.region, 'us-east-1');
    assert.equal(parsed.service, 'dynamodb');
    assert.deepEqual(parsed.signedHeaders, ['content-type', 'host', 'x-amz-date']);
    assert.equal(parsed.signature, 'abcd');
    assert.equal(parsed.amzDate, '20240115T123045Z');
    assert.equal(parsed.securityToken, undefined);
  });

  it('rejects a missing or non-AWS4 header', () => {
    expectAws(
      () => parseAuthorization(base),
      'MissingAuthenticationTokenException',
      'Request is missing Authentication Token',
    );
    expectAws(
      () => parseAuthorization({ ...base, authorization: 'Basic Zm9vOmJhcg==' }),
      'MissingAuthenticationTokenException',
    );
  });

  it('lists every missing part of an incomplete header', () => {
    const auth = 'AWS4-HMAC-SHA256 Signature=abcd';
    const err = expectAws(
      () => parseAuthorization({ host: 'localhost', authorization: auth }),
      'IncompleteSignatureException',
      "Authorization header requires 'Credential' parameter. Authorization header requires 'SignedHeaders' parameter. " +
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=" +
        auth,
    );
    assert.equal(err.namespace, 'com.amazon.coral.service');
    assert.equal(err.wireType, 'com.amazon.coral.service#IncompleteSignatureException');
  });

  it('rejects a key without a value', () => {
    const auth = 'AWS4-HMAC-SHA256 Signature=b,    Credential,    SignedHeaders=host';
    expectAws(
      () => parseAuthorization({ ...base, authorization: auth }),
      'IncompleteSignatureException',
      `'Credential' not a valid key=value pair (missing equal-sign) in Authorization header: '${auth}'.`,
    );
  });

  it('rejects a date not in ISO-8601 basic format', () => {
    expectAws(
      () => parseAuthorization({ ...base, 'x-amz-date': '201', authorization: good }),
      'IncompleteSignatureException',
      "Date must be in ISO-8601 'basic format'. Got '201'. See http://en.wikipedia.org/wiki/ISO_8601",
    );
    expectAws(
      () => parseAuthorization({ ...base, 'x-amz-date': '20240230T000000Z', authorization: good }),
      'IncompleteSignatureException',
    );
  });

  it('accepts only real calendar stamps', () => {
    for (const stamp of [
      '20230229T000000Z',
      '20240431T000000Z',
      '20241301T000000Z',
      '20240115T240000Z',
      '20240115T126000Z',
    ]) {
      expectAws(
        () => parseAuthorization({ ...base, 'x-amz-date': stamp, authorization: good }),
        'IncompleteSignatureException',
      );
    }
    for (const stamp of ['20240229T235959Z', '20241231T000000Z', '20240101T000000Z']) {
      assert.equal(parseAuthorization({ ...base, 'x-amz-date': stamp, authorization: good }).amzDate, stamp);
    }
  });

  it('falls back to the Date header', () => {
    const { 'x-amz-date': _drop, ...rest } = base;
    assert.equal(
      parseAuthorization({ ...rest, date: '20240115T123045Z', authorization: good }).amzDate,
      '20240115T123045Z',
    );
  });

  it('requires host to be signed', () => {
    expectAws(
      () => parseAuthorization({ ...base, authorization: good.replace('content-type;host;', '') }),
      'InvalidSignatureException',
      "'Host' must be a 'SignedHeader' in the AWS Authorization.",
    );
  });

  it('rejects other algorithms', () => {
    expectAws(
      () => parseAuthorization({ ...base, authorization: good.replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA25') }),
      'IncompleteSignatureException',
      "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA25' (only AWS4-HMAC-SHA256 for now). ",
    );
  });

  it('requires exactly five credential elements (ignoring trailing slashes)', () => {
    expectAws(
      () => parseAuthorization({ ...base, authorization: good.replace(/Credential=[^,]+/, 'Credential=a/b/c/d') }),
      'IncompleteSignatureException',
      "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'a/b/c/d'",
    );
    const trailing = good.replace('aws4_request', 'aws4_request//');
    assert.equal(parseAuthorization({ ...base, authorization: trailing }).terminator, 'aws4_request');
  });
});

describe('credential scope', () => {
  it('reports every wrong scope piece at once', async () => {
    const auth = new StrictAuthenticator(ACCOUNTS, fixedClock());
    const req = await sign();
    const authorization = (req.headers.authorization as string).replace(
      /Credential=[^,]+/,
      `Credential=${ROOT_KEY.accessKeyId}/20240114/US_EAST/kms/aws4`,
    );
    expectAws(
      () => auth.authenticate({ ...req, headers: { ...req.headers, authorization } }, 'dynamodb'),
      'InvalidSignatureException',
      "Credential should be scoped to a valid region, not 'US_EAST'. " +
        "Credential should be scoped to correct service: 'dynamodb'. " +
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4'. " +
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20240114' != '20240115', from '20240115T123045Z'.",
    );
  });
});

describe('canonicalQuery', () => {
  it('sorts by key then value and re-encodes RFC 3986 style', () => {
    assert.equal(canonicalQuery('?b=2&a=x%20y&a=w&c=%21'), 'a=w&a=x%20y&b=2&c=%21');
    assert.equal(canonicalQuery('X-Amz-Signature=abc&z='), 'z=');
  });
});

describe('verifySignature', () => {
  it('checks the clock before the signature', async () => {
    const req = await sign();
    const parsed = parseAuthorization(req.headers);
    verifySignature(parsed, req, ROOT_KEY.secretAccessKey, fixedClock());
    const late = new ManualClock({ now: () => NOW }, 20 * 60 * 1000);
    expectAws(
      () => verifySignature(parsed, req, ROOT_KEY.secretAccessKey, late),
      'InvalidSignatureException',
      /^Signature expired/,
    );
  });
});

describe('real SDK client', () => {
  async function callWith(secretAccessKey: string): Promise<{ principal?: Principal; error?: unknown }> {
    const auth = new StrictAuthenticator(ACCOUNTS, { now: () => Date.now() });
    let principal: Principal | undefined;
    const server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://localhost');
        res.setHeader('content-type', 'application/x-amz-json-1.0');
        try {
          principal = auth.authenticate(
            {
              method: req.method ?? 'POST',
              path: url.pathname,
              query: url.search,
              headers: req.headers,
              body: Buffer.concat(chunks),
            },
            'dynamodb',
          ).principal;
          res.end(JSON.stringify({ TableNames: [] }));
        } catch (e) {
          const err = e as AwsError;
          res.statusCode = err.statusCode;
          res.end(JSON.stringify({ __type: err.wireType, message: err.message }));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const client = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'eu-west-1',
      maxAttempts: 1,
      credentials: { accessKeyId: USER_KEY.accessKeyId, secretAccessKey },
    });
    try {
      await client.send(new ListTablesCommand({ Limit: 5 }));
      return principal ? { principal } : {};
    } catch (error) {
      return { error };
    } finally {
      client.destroy();
      server.close();
    }
  }

  it('authenticates a request signed by @aws-sdk/client-dynamodb', async () => {
    const { principal, error } = await callWith(USER_KEY.secretAccessKey);
    assert.equal(error, undefined);
    assert.equal(principal?.arn, `arn:aws:iam::${ACCOUNT}:user/alice`);
  });

  it('gives the SDK InvalidSignatureException for a wrong secret', async () => {
    const { principal, error } = await callWith('wrong');
    assert.equal(principal, undefined);
    assert.equal((error as Error).name, 'InvalidSignatureException');
  });
});
