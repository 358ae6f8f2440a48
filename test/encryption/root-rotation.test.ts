/**
 * `sealdb root rotate`: a key-file data directory (tables under the AWS owned key and under a
 * customer managed key, an audit trail) rotated to a PKCS#11 key in SoftHSM and back, with the
 * rotating process SIGKILLed at each step: afterwards exactly one of the two roots opens the data
 * directory (the old one before the switch, the new one from the rename on), every table reads
 * back with either, a re-run completes the rotation, and the trail records it (RotateRootKey).
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { parsePkcs11Spec } from '../../src/encryption/pkcs11-root.js';
import { type RootKeySource, RootOfTrust } from '../../src/encryption/root-of-trust.js';
import { ROTATION_STEPS } from '../../src/encryption/root-rotation.js';
import { startServer } from '../../src/server.js';
import { spawnSealdb } from '../helpers/process.js';
import { createSoftHsm } from '../helpers/softhsm.js';

const scratch = mkdtempSync(join(tmpdir(), 'sealdb-rotate-'));
const hsm = createSoftHsm(join(scratch, 'hsm'));
// Before this process first loads the PKCS#11 module.
process.env.SOFTHSM2_CONF = hsm.conf;
const PIN = '2468';
const SPEC = hsm.spec('rotation', 'sealdb-root');
const pkcs11: RootKeySource = { kind: 'pkcs11', spec: parsePkcs11Spec(SPEC), pin: PIN };
const fileRoot = (path: string): RootKeySource => ({ kind: 'key-file', path });
const env = { ...process.env, SOFTHSM2_CONF: hsm.conf, SEALDB_PKCS11_PIN: PIN };
const TABLES = ['Owned', 'Customer'];

after(() => rmSync(scratch, { recursive: true, force: true }));

async function withServer<T>(
  dataDir: string,
  rootKey: RootKeySource,
  use: (endpoint: string) => Promise<T>,
): Promise<T> {
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    dataDir,
    region: 'us-east-1',
    rootKey,
    auth: { mode: 'local' },
    sweepIntervalMs: 0,
  });
  try {
    return await use(server.endpoint);
  } finally {
    await server.close();
  }
}

const config = (endpoint: string) => ({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' },
  maxAttempts: 1,
});

async function readAll(endpoint: string): Promise<string[]> {
  const client = new DynamoDBClient(config(endpoint));
  const values: string[] = [];
  for (const TableName of TABLES) {
    const got = await client.send(new GetItemCommand({ TableName, Key: { id: { S: 'k' } } }));
    values.push(got.Item?.v?.S ?? '(missing)');
  }
  client.destroy();
  return values;
}

async function rotations(endpoint: string): Promise<number> {
  const trail = new CloudTrailClient(config(endpoint));
  const page = await trail.send(
    new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'RotateRootKey' }] }),
  );
  return page.Events?.length ?? 0;
}

/** Does this root open the data directory? (Opening only checks; it writes nothing to a made directory.) */
function opens(dataDir: string, source: RootKeySource): boolean {
  try {
    RootOfTrust.open(source, dataDir).destroy();
    return true;
  } catch {
    return false;
  }
}

async function rotate(dataDir: string, from: string[], to: string, crashAt?: string) {
  const run = spawnSealdb(['root', 'rotate', '--data-dir', dataDir, ...from, '--to', to], {
    env: { ...env, ...(crashAt ? { SEALDB_TEST_CRASH_AT: `rotate:${crashAt}` } : {}) },
  });
  const code = await run.exited;
  return { code, signal: run.child.signalCode, output: run.output() };
}

const keyA = join(scratch, 'keys', 'a.key');
const baseline = join(scratch, 'baseline');
const viaPkcs11 = join(scratch, 'pkcs11-baseline');

before(async () => {
  hsm.initToken('rotation', PIN);
  const keygen = spawnSealdb(['root', 'pkcs11-keygen', '--root-pkcs11', SPEC], { env });
  assert.equal(await keygen.exited, 0, keygen.output());
  await withServer(baseline, fileRoot(keyA), async (endpoint) => {
    const ddb = new DynamoDBClient(config(endpoint));
    const key = await new KMSClient(config(endpoint)).send(new CreateKeyCommand({}));
    for (const TableName of TABLES) {
      await ddb.send(
        new CreateTableCommand({
          TableName,
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
          ...(TableName === 'Customer'
            ? { SSESpecification: { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: key.KeyMetadata?.Arn as string } }
            : {}),
        }),
      );
      await ddb.send(new PutItemCommand({ TableName, Item: { id: { S: 'k' }, v: { S: `${TableName} value` } } }));
    }
    ddb.destroy();
  });
});

const EXPECTED = TABLES.map((t) => `${t} value`);

test('a complete rotation from a key file to PKCS#11 and back keeps every table, and is audited', async () => {
  cpSync(baseline, viaPkcs11, { recursive: true });
  const there = await rotate(viaPkcs11, ['--root-key-file', keyA], SPEC);
  assert.equal(there.code, 0, there.output);
  assert.match(there.output, /took \d+ ms, during which the data directory was locked/);
  assert.match(there.output, /start sealdb with --root-pkcs11 module=/);
  assert.ok(!opens(viaPkcs11, fileRoot(keyA)), 'the old key file no longer opens it');
  assert.deepEqual(await withServer(viaPkcs11, pkcs11, readAll), EXPECTED);
  assert.equal(await withServer(viaPkcs11, pkcs11, rotations), 1);

  const back = join(scratch, 'back');
  cpSync(viaPkcs11, back, { recursive: true });
  const keyB = join(scratch, 'keys', 'b.key');
  const returned = await rotate(back, ['--root-pkcs11', SPEC], keyB);
  assert.equal(returned.code, 0, returned.output);
  assert.match(returned.output, /created the new root key file/);
  assert.ok(!opens(back, pkcs11), 'the token key no longer opens it');
  assert.deepEqual(await withServer(back, fileRoot(keyB), readAll), EXPECTED);
  assert.equal(await withServer(back, fileRoot(keyB), rotations), 2);
});

test('rotation refuses a running server, the current key file, and a wrong old root, changing nothing', async () => {
  const dir = join(scratch, 'refusals');
  cpSync(baseline, dir, { recursive: true });
  const same = await rotate(dir, ['--root-key-file', keyA], keyA);
  assert.equal(same.code, 1);
  assert.match(same.output, /the new root key file is the current one/);
  const wrong = await rotate(dir, ['--root-key-file', join(scratch, 'keys', 'other.key')], SPEC);
  assert.equal(wrong.code, 1);
  assert.match(wrong.output, /does not exist/);
  await withServer(dir, fileRoot(keyA), async () => {
    const busy = await rotate(dir, ['--root-key-file', keyA], SPEC);
    assert.equal(busy.code, 1);
    assert.match(busy.output, /in use by another sealdb process.*Stop it before rotating its root/s);
  });
  assert.ok(opens(dir, fileRoot(keyA)));
});

/** Steps before the rename leave the old root; from the rename on, the new one. */
const switched = (step: string) => ROTATION_STEPS.indexOf(step as never) >= ROTATION_STEPS.indexOf('renamed');

describe('SIGKILL at each step: one root always works, every table reads, a re-run completes', () => {
  for (const step of ROTATION_STEPS) {
    test(`key file -> PKCS#11, killed at ${step}`, async () => {
      const dir = join(scratch, `to-pkcs11-${step}`);
      cpSync(baseline, dir, { recursive: true });
      const killed = await rotate(dir, ['--root-key-file', keyA], SPEC, step);
      assert.equal(killed.signal, 'SIGKILL', killed.output);
      const oldWorks = opens(dir, fileRoot(keyA));
      const newWorks = opens(dir, pkcs11);
      assert.notEqual(oldWorks, newWorks, 'exactly one root opens the data directory');
      assert.equal(newWorks, switched(step));
      if (!newWorks) {
        assert.deepEqual(await withServer(dir, fileRoot(keyA), readAll), EXPECTED);
        const rerun = await rotate(dir, ['--root-key-file', keyA], SPEC);
        assert.equal(rerun.code, 0, rerun.output);
      }
      await withServer(dir, pkcs11, async (endpoint) => {
        assert.deepEqual(await readAll(endpoint), EXPECTED);
        // Recorded once the switch is made, by the command or by this start.
        assert.ok((await rotations(endpoint)) >= 1);
      });
    });

    test(`PKCS#11 -> key file, killed at ${step}`, async () => {
      const dir = join(scratch, `to-file-${step}`);
      cpSync(viaPkcs11, dir, { recursive: true });
      const keyC = join(scratch, 'keys', `c-${step}.key`);
      const killed = await rotate(dir, ['--root-pkcs11', SPEC], keyC, step);
      assert.equal(killed.signal, 'SIGKILL', killed.output);
      const oldWorks = opens(dir, pkcs11);
      const newWorks = existsSync(keyC) && opens(dir, fileRoot(keyC));
      assert.notEqual(oldWorks, newWorks, 'exactly one root opens the data directory');
      assert.equal(newWorks, switched(step));
      if (!newWorks) {
        assert.deepEqual(await withServer(dir, pkcs11, readAll), EXPECTED);
        assert.equal((await rotate(dir, ['--root-pkcs11', SPEC], keyC)).code, 0);
      }
      assert.deepEqual(await withServer(dir, fileRoot(keyC), readAll), EXPECTED);
    });
  }
});
