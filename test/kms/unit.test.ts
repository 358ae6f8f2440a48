/** Pure pieces of the KMS: ciphertext format, policy evaluation, grant constraints and tokens, pagination. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { rootPrincipal, userPrincipal } from '../../src/http/auth.js';
import type { Principal } from '../../src/http/service.js';
import { canonicalEncryptionContext, open, parseCiphertext, seal } from '../../src/kms/ciphertext.js';
import { constraintsSatisfied, GrantTokenCodec, grantMayCreate } from '../../src/kms/grants.js';
import { paginate } from '../../src/kms/pagination.js';
import { type ConditionContext, evaluatePolicy, parsePolicy } from '../../src/kms/policy.js';
import { jacksonPretty } from '../../src/kms/policy-templates.js';
import type { GrantRecord } from '../../src/kms/types.js';

const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';

describe('ciphertext blob', () => {
  test('layout: version, key id, material version, 12-byte IV, ciphertext, 16-byte tag', () => {
    const material = randomBytes(32);
    const blob = seal(material, KEY_ID, 7, Buffer.from('hello'), { a: '1' });
    assert.equal(blob.length, 1 + 16 + 4 + 12 + 5 + 16);
    assert.equal(blob[0], 1);
    assert.equal(blob.subarray(1, 17).toString('hex'), KEY_ID.replace(/-/g, ''));
    assert.equal(blob.readUInt32BE(17), 7);
    const parsed = parseCiphertext(blob);
    assert.equal(parsed.keyId, KEY_ID);
    assert.equal(parsed.materialVersion, 7);
    assert.equal(open(material, parsed, { a: '1' }).toString(), 'hello');
    assert.throws(() => open(material, parsed, { a: '2' }), { name: 'InvalidCiphertextException' });
    assert.throws(() => open(randomBytes(32), parsed, { a: '1' }), { name: 'InvalidCiphertextException' });
  });

  test('the canonical context ignores order and cannot be confused by separators', () => {
    assert.deepEqual(canonicalEncryptionContext({ b: '2', a: '1' }), canonicalEncryptionContext({ a: '1', b: '2' }));
    assert.notDeepEqual(canonicalEncryptionContext({ 'a=1,b': '2' }), canonicalEncryptionContext({ a: '1,b=2' }));
    assert.notDeepEqual(canonicalEncryptionContext({}), canonicalEncryptionContext({ '': '' }));
    assert.deepEqual(canonicalEncryptionContext(undefined), canonicalEncryptionContext({}));
  });
});

describe('policy evaluation', () => {
  const alice = userPrincipal('111122223333', 'alice');
  const root = rootPrincipal('111122223333');
  const outsider = rootPrincipal('999999999999');
  const service: Principal = {
    type: 'AWSService',
    accountId: '111122223333',
    arn: 'dynamodb.us-east-1.amazonaws.com',
    principalId: 'dynamodb.amazonaws.com',
  };
  const resource = `arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}`;
  const decide = (policy: object, principal: Principal, action: string, context: Record<string, string[]> = {}) =>
    evaluatePolicy(parsePolicy(JSON.stringify(policy)), {
      principal,
      action,
      resource,
      context: new Map(Object.entries(context)) as ConditionContext,
    });
  const allow = (statement: object) => ({ Statement: [{ Effect: 'Allow', Resource: '*', ...statement }] });

  test('principals: account root, bare account id, user ARN, "*", service', () => {
    assert.equal(decide(allow({ Principal: { AWS: root.arn }, Action: 'kms:*' }), alice, 'kms:Encrypt'), 'Allow');
    assert.equal(decide(allow({ Principal: { AWS: '111122223333' }, Action: 'kms:*' }), alice, 'kms:Encrypt'), 'Allow');
    assert.equal(
      decide(allow({ Principal: { AWS: root.arn }, Action: 'kms:*' }), outsider, 'kms:Encrypt'),
      'ImplicitDeny',
    );
    assert.equal(
      decide(allow({ Principal: { AWS: [alice.arn] }, Action: 'kms:*' }), root, 'kms:Encrypt'),
      'ImplicitDeny',
    );
    assert.equal(decide(allow({ Principal: '*', Action: 'kms:*' }), outsider, 'kms:Encrypt'), 'Allow');
    assert.equal(
      decide(
        allow({ Principal: { Service: 'dynamodb.amazonaws.com' }, Action: 'kms:Describe*' }),
        service,
        'kms:DescribeKey',
      ),
      'Allow',
    );
    assert.equal(
      decide(allow({ Principal: { AWS: root.arn }, Action: 'kms:*' }), service, 'kms:DescribeKey'),
      'ImplicitDeny',
    );
  });

  test('actions: wildcards are case-insensitive; NotAction; Resource patterns', () => {
    assert.equal(
      decide(allow({ Principal: '*', Action: 'KMS:generatedatakey*' }), alice, 'kms:GenerateDataKeyWithoutPlaintext'),
      'Allow',
    );
    assert.equal(decide(allow({ Principal: '*', Action: 'kms:Re?ncrypt*' }), alice, 'kms:ReEncryptFrom'), 'Allow');
    assert.equal(decide(allow({ Principal: '*', NotAction: 'kms:Decrypt' }), alice, 'kms:Decrypt'), 'ImplicitDeny');
    assert.equal(decide(allow({ Principal: '*', NotAction: 'kms:Decrypt' }), alice, 'kms:Encrypt'), 'Allow');
    const other = {
      Statement: [{ Effect: 'Allow', Principal: '*', Action: '*', Resource: 'arn:aws:kms:*:*:key/other' }],
    };
    assert.equal(decide(other, alice, 'kms:Encrypt'), 'ImplicitDeny');
  });

  test('Deny wins over Allow', () => {
    const policy = {
      Statement: [
        { Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*' },
        { Effect: 'Deny', Principal: { AWS: alice.arn }, Action: 'kms:Decrypt', Resource: '*' },
      ],
    };
    assert.equal(decide(policy, alice, 'kms:Decrypt'), 'ExplicitDeny');
    assert.equal(decide(policy, root, 'kms:Decrypt'), 'Allow');
  });

  test('condition operators and set qualifiers', () => {
    const when = (Condition: object) => allow({ Principal: '*', Action: 'kms:*', Condition });
    const ctxKeys = { 'kms:encryptioncontextkeys': ['tenant', 'table'] };
    assert.equal(
      decide(when({ StringEquals: { 'kms:CallerAccount': '111122223333' } }), alice, 'kms:Encrypt', {
        'kms:calleraccount': ['111122223333'],
      }),
      'Allow',
    );
    assert.equal(decide(when({ StringEquals: { 'kms:ViaService': 'x' } }), alice, 'kms:Encrypt'), 'ImplicitDeny');
    assert.equal(decide(when({ StringNotEquals: { 'kms:ViaService': 'x' } }), alice, 'kms:Encrypt'), 'Allow');
    assert.equal(decide(when({ StringEqualsIfExists: { 'kms:ViaService': 'x' } }), alice, 'kms:Encrypt'), 'Allow');
    assert.equal(decide(when({ Null: { 'kms:ViaService': 'true' } }), alice, 'kms:Encrypt'), 'Allow');
    assert.equal(decide(when({ Null: { 'kms:ViaService': 'false' } }), alice, 'kms:Encrypt'), 'ImplicitDeny');
    assert.equal(
      decide(when({ StringLike: { 'kms:ViaService': 'dynamodb.*.amazonaws.com' } }), alice, 'kms:Encrypt', {
        'kms:viaservice': ['dynamodb.eu-west-1.amazonaws.com'],
      }),
      'Allow',
    );
    assert.equal(
      decide(
        when({ 'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': 'tenant' } }),
        alice,
        'kms:Encrypt',
        ctxKeys,
      ),
      'Allow',
    );
    assert.equal(
      decide(
        when({ 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': 'tenant' } }),
        alice,
        'kms:Encrypt',
        ctxKeys,
      ),
      'ImplicitDeny',
    );
    assert.equal(
      decide(when({ 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': 'tenant' } }), alice, 'kms:Encrypt'),
      'Allow',
    );
    assert.equal(
      decide(when({ 'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': 'tenant' } }), alice, 'kms:Encrypt'),
      'ImplicitDeny',
    );
    assert.equal(
      decide(when({ Bool: { 'kms:GrantIsForAWSResource': true } }), alice, 'kms:CreateGrant', {
        'kms:grantisforawsresource': ['true'],
      }),
      'Allow',
    );
    assert.equal(
      decide(when({ Bool: { 'kms:GrantIsForAWSResource': 'true' } }), alice, 'kms:CreateGrant', {
        'kms:grantisforawsresource': ['false'],
      }),
      'ImplicitDeny',
    );
    assert.equal(
      decide(when({ StringEqualsIgnoreCase: { 'kms:EncryptionContext:Tenant': 'ACME' } }), alice, 'kms:Encrypt', {
        'kms:encryptioncontext:tenant': ['acme'],
      }),
      'Allow',
    );
    assert.equal(
      decide(when({ NumericLessThanEquals: { 'kms:X': '30' } }), alice, 'kms:Encrypt', { 'kms:x': ['7'] }),
      'Allow',
    );
    assert.equal(
      decide(when({ NumericGreaterThan: { 'kms:X': '30' } }), alice, 'kms:Encrypt', { 'kms:x': ['7'] }),
      'ImplicitDeny',
    );
  });

  test('malformed documents', () => {
    for (const text of [
      '{',
      '[]',
      '{"Statement":[{"Effect":"Allow","Action":"kms:*"}]}',
      '{"Statement":{"Effect":"Allow","Principal":{"Federated":"x"},"Action":"kms:*"}}',
    ]) {
      assert.throws(() => parsePolicy(text), { name: 'MalformedPolicyDocumentException' });
    }
    assert.equal(parsePolicy('{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*"}}').statements.length, 1);
  });

  test('Jackson-style pretty printing, as GetKeyPolicy shows KMS-written policies', () => {
    assert.equal(
      jacksonPretty({ a: [{ b: 1 }, 'x'], c: {} }),
      '{\n  "a" : [ {\n    "b" : 1\n  }, "x" ],\n  "c" : { }\n}',
    );
  });
});

describe('grants', () => {
  const grant = (constraints?: GrantRecord['constraints'], operations = ['Decrypt', 'CreateGrant']): GrantRecord => ({
    grantId: 'a'.repeat(64),
    keyId: KEY_ID,
    creationMs: 0,
    granteePrincipal: 'arn:aws:iam::111122223333:user/bob',
    issuingAccount: 'arn:aws:iam::111122223333:root',
    operations,
    ...(constraints ? { constraints } : {}),
  });

  test('constraints', () => {
    assert.ok(constraintsSatisfied(undefined, undefined));
    assert.ok(constraintsSatisfied({ EncryptionContextSubset: { a: '1' } }, { a: '1', b: '2' }));
    assert.ok(!constraintsSatisfied({ EncryptionContextSubset: { a: '1' } }, { b: '2' }));
    assert.ok(!constraintsSatisfied({ EncryptionContextSubset: { a: '1' } }, undefined));
    assert.ok(constraintsSatisfied({ EncryptionContextEquals: { a: '1' } }, { a: '1' }));
    assert.ok(!constraintsSatisfied({ EncryptionContextEquals: { a: '1' } }, { a: '1', b: '2' }));
    assert.ok(!constraintsSatisfied({ EncryptionContextEquals: { a: '1' } }, { a: 'x' }));
    assert.ok(!constraintsSatisfied({ EncryptionContextSubset: { toString: 'x' } }, {}));
  });

  test('derived grants', () => {
    assert.ok(grantMayCreate(grant(), ['Decrypt'], undefined));
    assert.ok(!grantMayCreate(grant(), ['Encrypt'], undefined));
    const subset = grant({ EncryptionContextSubset: { t: '1' } });
    assert.ok(grantMayCreate(subset, ['Decrypt'], { EncryptionContextSubset: { t: '1', u: '2' } }));
    assert.ok(grantMayCreate(subset, ['Decrypt'], { EncryptionContextEquals: { t: '1' } }));
    assert.ok(!grantMayCreate(subset, ['Decrypt'], undefined));
    const equals = grant({ EncryptionContextEquals: { t: '1' } });
    assert.ok(grantMayCreate(equals, ['Decrypt'], { EncryptionContextEquals: { t: '1' } }));
    assert.ok(!grantMayCreate(equals, ['Decrypt'], { EncryptionContextSubset: { t: '1' } }));
  });

  test('tokens are authenticated and unique', () => {
    const codec = new GrantTokenCodec(randomBytes(32));
    const id = 'b'.repeat(64);
    const t1 = codec.issue(id);
    const t2 = codec.issue(id);
    assert.notEqual(t1, t2);
    assert.equal(codec.verify(t1), id);
    const raw = Buffer.from(t1, 'base64url');
    raw[5] = (raw[5] as number) ^ 1;
    assert.throws(() => codec.verify(raw.toString('base64url')), { name: 'InvalidGrantTokenException' });
    assert.throws(() => new GrantTokenCodec(randomBytes(32)).verify(t1), { name: 'InvalidGrantTokenException' });
    assert.throws(() => codec.verify('short'), { name: 'InvalidGrantTokenException' });
  });
});

describe('pagination', () => {
  const items = ['a', 'b', 'c', 'd', 'e'];
  test('pages by marker, clamps the limit, rejects bad markers', () => {
    const first = paginate(items, (x) => x, { defaultLimit: 2, maxLimit: 3 }, undefined, undefined);
    assert.deepEqual(first.items, ['a', 'b']);
    const second = paginate(items, (x) => x, { defaultLimit: 2, maxLimit: 3 }, 100, first.nextMarker);
    assert.deepEqual(second.items, ['c', 'd', 'e']);
    assert.equal(second.nextMarker, undefined);
    // A marker whose item has gone still continues after it.
    const afterGone = paginate(
      ['a', 'c', 'd'],
      (x) => x,
      { defaultLimit: 2, maxLimit: 3 },
      undefined,
      first.nextMarker,
    );
    assert.deepEqual(afterGone.items, ['c', 'd']);
    assert.throws(() => paginate(items, (x) => x, { defaultLimit: 2, maxLimit: 3 }, 1, 'not a marker!'), {
      name: 'InvalidMarkerException',
    });
  });
});
