import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AwsError, CORAL_SERVICE, CORAL_VALIDATE } from '../../src/http/aws-error.js';
import { type CheckOptions, checkInput, lowerFirst, MAX_VALIDATION_ERRORS } from '../../src/validation/checker.js';
import { type CompactModel, javaPatternToRegExp, loadModel } from '../../src/validation/model.js';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('no package.json above the test');
    dir = parent;
  }
  return dir;
}

const root = repoRoot();
const load = (service: string): CompactModel =>
  loadModel(JSON.parse(readFileSync(join(root, 'src', service, 'model.json'), 'utf8')));

const dynamodb = load('dynamodb');
const kms = load('kms');
const cloudtrail = load('cloudtrail');

const DDB: CheckOptions = {
  serializationNamespace: CORAL_SERVICE,
  validationNamespace: CORAL_VALIDATE,
  typeMessages: 'dynamodb',
};

function thrown(run: () => unknown): AwsError {
  try {
    run();
  } catch (err) {
    assert.ok(err instanceof AwsError, `expected an AwsError, got ${String(err)}`);
    assert.equal(err.statusCode, 400);
    return err;
  }
  assert.fail('expected the check to throw');
}

const ddb = (operation: string, input: unknown): Record<string, unknown> => checkInput(dynamodb, operation, input, DDB);

function ddbValidation(operation: string, input: unknown): string {
  const err = thrown(() => ddb(operation, input));
  assert.equal(err.wireType, 'com.amazon.coral.validate#ValidationException');
  return err.message;
}

function ddbSerialization(operation: string, input: unknown): string {
  const err = thrown(() => ddb(operation, input));
  assert.equal(err.wireType, 'com.amazon.coral.service#SerializationException');
  return err.message;
}

function bareError(model: CompactModel, operation: string, input: unknown, code: string): string {
  const err = thrown(() => checkInput(model, operation, input));
  assert.equal(err.wireType, code);
  return err.message;
}

const v = (value: string | null, path: string, constraint: string): string =>
  `Value ${value === null ? 'null' : `'${value}'`} at '${path}' failed to satisfy constraint: ${constraint}`;

describe('generated models', () => {
  it('hold the operations and shapes of all three services', () => {
    assert.equal(dynamodb.metadata.targetPrefix, 'DynamoDB_20120810');
    assert.equal(kms.metadata.targetPrefix, 'TrentService');
    assert.ok(dynamodb.operations.get('PutItem')?.errors.includes('ConditionalCheckFailedException'));
    assert.equal(kms.operations.get('Encrypt')?.input, 'EncryptRequest');
    assert.equal(cloudtrail.operations.get('LookupEvents')?.output, 'LookupEventsResponse');
    const request = kms.shapes.get('EncryptRequest');
    assert.ok(request?.type === 'structure');
    assert.deepEqual(
      request.members.filter((m) => m.required).map((m) => m.name),
      ['KeyId', 'Plaintext'],
    );
    assert.equal(kms.shapes.get('NotFoundException')?.type, 'structure');
    assert.ok(JSON.stringify(kms.shapes.get('NotFoundException')).includes('"exception":true'));
  });

  it('list DynamoDB enums in the order the service prints them', () => {
    const shape = dynamodb.shapes.get('ScalarAttributeType');
    assert.ok(shape?.type === 'string');
    assert.deepEqual(shape.enum, ['B', 'N', 'S']);
  });

  it('are rejected when a shape reference dangles', () => {
    assert.throws(
      () =>
        loadModel({
          metadata: { ...kms.metadata },
          operations: {},
          shapes: { A: { type: 'list', member: 'Missing' } },
        }),
      /unknown shape Missing/,
    );
    assert.throws(() => loadModel({ metadata: {}, operations: {}, shapes: {} }), /metadata\.serviceId/);
  });
});

describe('helpers', () => {
  it('lowerFirst lowers only the first character, as Coral paths do', () => {
    assert.equal(lowerFirst('TableName'), 'tableName');
    assert.equal(lowerFirst('SSESpecification'), 'sSESpecification');
  });

  it('translates Java patterns', () => {
    assert.ok(javaPatternToRegExp('\\p{Print}+').test('hello world~'));
    assert.ok(!javaPatternToRegExp('\\p{Print}+').test('tab\there'));
    const xml = javaPatternToRegExp('[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\r\\n\\t]*');
    assert.ok(xml.test('emoji 😀 ok'));
    assert.ok(!xml.test('bell \u0007'));
    const name = javaPatternToRegExp('[A-Za-z0-9][A-Za-z0-9\\-\\_\\.]{0,126}[A-Za-z0-9]');
    assert.ok(name.test('my_name-1.x'));
    assert.ok(!name.test('-leading'));
    assert.ok(javaPatternToRegExp('(?s).*').test('two\nlines'));
    // Java's \s is ASCII only.
    assert.ok(!javaPatternToRegExp('^[a-zA-Z0-9:/_\\s.-]+$').test('no\u00a0break'));
    // Java's matches() needs the whole value to match.
    assert.ok(!javaPatternToRegExp('[0-9]{12}').test('1234567890123'));
  });
});

describe('DynamoDB constraint phase', () => {
  it('reports a missing TableName', () => {
    assert.equal(
      ddbValidation('CreateTable', {}),
      `1 validation error detected: ${v(null, 'tableName', 'Member must not be null')}`,
    );
  });

  it('reports a bad pattern before the length', () => {
    assert.equal(
      ddbValidation('ListTables', { ExclusiveStartTableName: 'a;' }),
      '2 validation errors detected: ' +
        `${v('a;', 'exclusiveStartTableName', 'Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+')}; ` +
        v('a;', 'exclusiveStartTableName', 'Member must have length greater than or equal to 3'),
    );
  });

  it('checks numeric ranges', () => {
    const low = `1 validation error detected: ${v('0', 'limit', 'Member must have value greater than or equal to 1')}`;
    assert.equal(ddbValidation('ListTables', { Limit: 0 }), low);
    assert.equal(ddbValidation('Query', { TableName: 'abc', Limit: 0 }), low);
    assert.equal(
      ddbValidation('ListTables', { Limit: 101 }),
      `1 validation error detected: ${v('101', 'limit', 'Member must have value less than or equal to 100')}`,
    );
  });

  it('lists several errors in model member order, depth first', () => {
    const message = ddbValidation('CreateTable', {
      AttributeDefinitions: [{ AttributeName: 'a', AttributeType: 'SS' }],
      TableName: '',
      KeySchema: [{ KeyType: 'HASH' }, { AttributeName: 'a' }, { AttributeName: 'b', KeyType: 'Woop' }],
      ProvisionedThroughput: { ReadCapacityUnits: 0 },
    });
    // DynamoDB holds table key schemas to two elements (see scripts/generate-models.ts).
    const element = 'com.amazonaws.dynamodb.v20120810.KeySchemaElement@H';
    assert.equal(
      message.replace(/KeySchemaElement@[0-9a-f]+/g, 'KeySchemaElement@H'),
      '8 validation errors detected: ' +
        [
          v('SS', 'attributeDefinitions.1.member.attributeType', 'Member must satisfy enum value set: [B, N, S]'),
          v('', 'tableName', 'Member must have length greater than or equal to 1'),
          v(`[${element}, ${element}, ${element}]`, 'keySchema', 'Member must have length less than or equal to 2'),
          v(null, 'keySchema.1.member.attributeName', 'Member must not be null'),
          v(null, 'keySchema.2.member.keyType', 'Member must not be null'),
          v('Woop', 'keySchema.3.member.keyType', 'Member must satisfy enum value set: [HASH, RANGE]'),
          v('0', 'provisionedThroughput.readCapacityUnits', 'Member must have value greater than or equal to 1'),
          v(null, 'provisionedThroughput.writeCapacityUnits', 'Member must not be null'),
        ].join('; '),
    );
  });

  it('stops at ten errors', () => {
    const message = ddbValidation('CreateTable', { TableName: 'abc', LocalSecondaryIndexes: [{}, {}, {}, {}, {}] });
    const errors = message.replace(/^\d+ validation errors detected: /, '').split('; ');
    assert.equal(MAX_VALIDATION_ERRORS, 10);
    assert.equal(errors.length, 10);
    assert.ok(message.startsWith('10 validation errors detected: '));
    assert.equal(errors[0], v(null, 'localSecondaryIndexes.1.member.indexName', 'Member must not be null'));
    assert.equal(errors[9], v(null, 'localSecondaryIndexes.4.member.indexName', 'Member must not be null'));
  });

  it('names map values as <map>.<key>.member', () => {
    const message = ddbValidation('PutItem', {
      TableName: 'abc',
      Item: { a: { S: 'x' } },
      Expected: { b: { ComparisonOperator: 'BAD' } },
    });
    assert.equal(
      message,
      `1 validation error detected: ${v(
        'BAD',
        'expected.b.member.comparisonOperator',
        'Member must satisfy enum value set: ' +
          '[IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]',
      )}`,
    );
  });

  it('judges map keys and simple list elements together, at the collection', () => {
    const long = 'k'.repeat(65536);
    const keys = ddbValidation('PutItem', { TableName: 'abc', Item: { [long]: { S: 'x' } } });
    assert.match(
      keys,
      /^1 validation error detected: Value '\{k+=com\.amazonaws\.dynamodb\.v20120810\.AttributeValue@[0-9a-f]+\}' at 'item' failed to satisfy constraint: Map keys must satisfy constraint: \[Member must have length less than or equal to 65535\]$/,
    );
    assert.equal(
      ddbValidation('Query', { TableName: 'abc', AttributesToGet: ['a', long] }),
      `1 validation error detected: ${v(
        `[a, ${long}]`,
        'attributesToGet',
        'Member must satisfy constraint: [Member must have length less than or equal to 65535]',
      )}`,
    );
    assert.equal(
      ddbValidation('Query', { TableName: 'abc', AttributesToGet: [] }),
      `1 validation error detected: ${v('[]', 'attributesToGet', 'Member must have length greater than or equal to 1')}`,
    );
  });

  it('renders lists of structures with Java identity strings', () => {
    const items = Array.from({ length: 101 }, (_, i) => ({
      ConditionCheck: { TableName: `t${i}`, Key: {}, ConditionExpression: 'attribute_exists(a)' },
    }));
    const message = ddbValidation('TransactWriteItems', { TransactItems: items });
    assert.match(
      message,
      /^1 validation error detected: Value '\[com\.amazonaws\.dynamodb\.v20120810\.TransactWriteItem@[0-9a-f]+, /,
    );
    assert.ok(
      message.endsWith(
        "' at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100",
      ),
    );
  });

  it('passes a valid request through, keeping only modelled non-null members', () => {
    const item = {
      pk: { S: 'a' },
      n: { N: '1' },
      m: { M: { l: { L: [{ BOOL: true }, { NULL: true }] } } },
      b: { B: 'AAE=' },
    };
    const out = ddb('PutItem', { TableName: 'abc', Item: item, Unknown: 1, ConditionExpression: null });
    assert.deepEqual(out, { TableName: 'abc', Item: item });
    assert.deepEqual(ddb('ListTables', { Limit: 5.9, Foo: 'bar' }), { Limit: 5 });
  });

  it('keeps a __proto__ attribute name as an ordinary entry', () => {
    const input = JSON.parse('{"TableName":"abc","Item":{"__proto__":{"S":"x"}}}') as unknown;
    const out = ddb('PutItem', input);
    const item = out.Item as Record<string, unknown>;
    assert.ok(Object.hasOwn(item, '__proto__'));
    assert.equal(Object.getPrototypeOf(item), Object.prototype);
  });
});

describe('DynamoDB type phase', () => {
  // DynamoDB's current deserializer, as recorded by dynalite's test helpers (assertType).
  it("reports scalar mismatches in DynamoDB's wording", () => {
    assert.equal(ddbSerialization('CreateTable', { TableName: 123 }), 'NUMBER_VALUE cannot be converted to String');
    assert.equal(ddbSerialization('CreateTable', { TableName: false }), 'FALSE_VALUE cannot be converted to String');
    assert.equal(ddbSerialization('ListTables', { Limit: '5' }), 'STRING_VALUE cannot be converted to Integer');
    assert.equal(ddbSerialization('ListTables', { Limit: true }), 'TRUE_VALUE cannot be converted to Integer');
    assert.equal(
      ddbSerialization('Query', { TableName: 'abc', ScanIndexForward: 1 }),
      'NUMBER_VALUE cannot be converted to Boolean',
    );
  });

  it('reports collection mismatches', () => {
    assert.equal(
      ddbSerialization('CreateTable', { KeySchema: {} }),
      'Start of structure or map found where not expected',
    );
    assert.equal(ddbSerialization('CreateTable', { KeySchema: 'HASH' }), 'Unexpected field type');
    assert.equal(
      ddbSerialization('CreateTable', { ProvisionedThroughput: [] }),
      'Unrecognized collection type class com.amazonaws.dynamodb.v20120810.ProvisionedThroughput',
    );
    assert.equal(ddbSerialization('CreateTable', { ProvisionedThroughput: 5 }), 'Unexpected field type');
    assert.equal(
      ddbSerialization('PutItem', { Item: [] }),
      'Unrecognized collection type java.util.Map<java.lang.String, com.amazonaws.dynamodb.v20120810.AttributeValue>',
    );
    assert.equal(ddbSerialization('PutItem', { Item: 'x' }), 'Unexpected field type');
    assert.equal(ddbSerialization('CreateTable', [1]), 'Start of list found where not expected');
  });

  it('words AttributeValue members as DynamoDB does', () => {
    assert.equal(
      ddbSerialization('PutItem', { Item: { a: { S: 123 } } }),
      'NUMBER_VALUE cannot be converted to String',
    );
    assert.equal(
      ddbSerialization('PutItem', { Item: { a: { S: { S: 'x' } } } }),
      'Start of structure or map found where not expected',
    );
    assert.equal(
      ddbSerialization('PutItem', { Item: { a: { M: { b: { SS: [true] } } } } }),
      'TRUE_VALUE cannot be converted to String',
    );
  });

  it('checks the type before any constraint', () => {
    assert.equal(ddbSerialization('CreateTable', { TableName: '', Tags: 'x' }), 'Unexpected field type');
  });

  it('requires blobs to be base64', () => {
    assert.equal(
      ddbSerialization('PutItem', { Item: { a: { B: 'abc' } } }),
      'Base64 encoded length is expected a multiple of 4 bytes but found: 3',
    );
    assert.equal(ddbSerialization('PutItem', { Item: { a: { B: 'ab!=' } } }), "Invalid Base64 character: '!'");
  });
});

describe('KMS', () => {
  it('leaves sensitive values out and uses bare error types', () => {
    assert.equal(
      bareError(kms, 'Encrypt', { KeyId: '', Plaintext: '' }, 'ValidationException'),
      '2 validation errors detected: ' +
        `${v('', 'keyId', 'Member must have length greater than or equal to 1')}; ` +
        "Value at 'plaintext' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
    assert.equal(
      bareError(kms, 'Encrypt', {}, 'ValidationException'),
      `2 validation errors detected: ${v(null, 'keyId', 'Member must not be null')}; ${v(null, 'plaintext', 'Member must not be null')}`,
    );
  });

  it('measures blobs in decoded bytes', () => {
    const ok = Buffer.alloc(4096).toString('base64');
    assert.deepEqual(checkInput(kms, 'Encrypt', { KeyId: 'k', Plaintext: ok }), { KeyId: 'k', Plaintext: ok });
    assert.equal(
      bareError(
        kms,
        'Encrypt',
        { KeyId: 'k', Plaintext: Buffer.alloc(4097).toString('base64') },
        'ValidationException',
      ),
      "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096",
    );
    assert.equal(
      bareError(kms, 'Encrypt', { KeyId: 'k', Plaintext: 'abc' }, 'SerializationException'),
      "'abc' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 3",
    );
  });

  it('checks KeyId length', () => {
    const long = 'x'.repeat(2049);
    assert.equal(
      bareError(kms, 'DescribeKey', { KeyId: long }, 'ValidationException'),
      `1 validation error detected: ${v(long, 'keyId', 'Member must have length less than or equal to 2048')}`,
    );
  });

  it('checks the PendingWindowInDays range', () => {
    assert.equal(
      bareError(kms, 'ScheduleKeyDeletion', { KeyId: 'k', PendingWindowInDays: 0 }, 'ValidationException'),
      `1 validation error detected: ${v('0', 'pendingWindowInDays', 'Member must have value greater than or equal to 1')}`,
    );
    assert.equal(
      bareError(kms, 'ScheduleKeyDeletion', { KeyId: 'k', PendingWindowInDays: 366 }, 'ValidationException'),
      `1 validation error detected: ${v('366', 'pendingWindowInDays', 'Member must have value less than or equal to 365')}`,
    );
    assert.equal(
      bareError(kms, 'ScheduleKeyDeletion', { KeyId: 'k', PendingWindowInDays: '7' }, 'SerializationException'),
      'STRING_VALUE can not be converted to an Integer',
    );
    assert.deepEqual(checkInput(kms, 'ScheduleKeyDeletion', { KeyId: 'k', PendingWindowInDays: 7 }), {
      KeyId: 'k',
      PendingWindowInDays: 7,
    });
  });

  it('checks the KeySpec enum and nested tags', () => {
    const specs =
      'RSA_2048, RSA_3072, RSA_4096, ECC_NIST_P256, ECC_NIST_P384, ECC_NIST_P521, ECC_SECG_P256K1, ' +
      'SYMMETRIC_DEFAULT, HMAC_224, HMAC_256, HMAC_384, HMAC_512, SM2, ML_DSA_44, ML_DSA_65, ML_DSA_87, ' +
      'ECC_NIST_EDWARDS25519';
    assert.equal(
      bareError(kms, 'CreateKey', { KeySpec: 'FOO', Tags: [{ TagKey: '' }] }, 'ValidationException'),
      '3 validation errors detected: ' +
        [
          v('FOO', 'keySpec', `Member must satisfy enum value set: [${specs}]`),
          v('', 'tags.1.member.tagKey', 'Member must have length greater than or equal to 1'),
          v(null, 'tags.1.member.tagValue', 'Member must not be null'),
        ].join('; '),
    );
  });

  it('counts string length in code points', () => {
    const emoji = '😀'.repeat(128);
    assert.doesNotThrow(() => checkInput(kms, 'TagResource', { KeyId: 'k', Tags: [{ TagKey: emoji, TagValue: '' }] }));
    assert.match(
      bareError(
        kms,
        'TagResource',
        { KeyId: 'k', Tags: [{ TagKey: `${emoji}!`, TagValue: '' }] },
        'ValidationException',
      ),
      /at 'tags\.1\.member\.tagKey' failed to satisfy constraint: Member must have length less than or equal to 128$/,
    );
  });
});

describe('CloudTrail', () => {
  it('checks the LookupEvents MaxResults range', () => {
    assert.equal(
      bareError(cloudtrail, 'LookupEvents', { MaxResults: 0 }, 'ValidationException'),
      `1 validation error detected: ${v('0', 'maxResults', 'Member must have value greater than or equal to 1')}`,
    );
    assert.equal(
      bareError(cloudtrail, 'LookupEvents', { MaxResults: 51 }, 'ValidationException'),
      `1 validation error detected: ${v('51', 'maxResults', 'Member must have value less than or equal to 50')}`,
    );
  });

  it('checks lookup attributes and timestamps', () => {
    assert.equal(
      bareError(
        cloudtrail,
        'LookupEvents',
        { LookupAttributes: [{ AttributeKey: 'Bogus', AttributeValue: '' }] },
        'ValidationException',
      ),
      '2 validation errors detected: ' +
        `${v(
          'Bogus',
          'lookupAttributes.1.member.attributeKey',
          'Member must satisfy enum value set: ' +
            '[EventId, EventName, ReadOnly, Username, ResourceType, ResourceName, EventSource, AccessKeyId]',
        )}; ` +
        v('', 'lookupAttributes.1.member.attributeValue', 'Member must have length greater than or equal to 1'),
    );
    assert.equal(
      bareError(cloudtrail, 'LookupEvents', { StartTime: 'yesterday' }, 'SerializationException'),
      'STRING_VALUE can not be converted to milliseconds since epoch',
    );
    assert.deepEqual(checkInput(cloudtrail, 'LookupEvents', { StartTime: 1700000000.5, MaxResults: 50 }), {
      StartTime: 1700000000.5,
      MaxResults: 50,
    });
  });

  it('refuses an operation the model does not have, as a programming error', () => {
    assert.throws(
      () => checkInput(cloudtrail, 'constructor', {}),
      (err: unknown) => err instanceof Error && !(err instanceof AwsError),
    );
  });
});
