/**
 * A PKCS#11 root of trust in SoftHSM, through `sealdb start --root-pkcs11` as a user runs it:
 * the key `sealdb root pkcs11-keygen` makes is a non-extractable AES-256 key the token never
 * reveals; the data directory made with it keeps its master key sealed by the token; a restart
 * reads the data back; a wrong PIN, a missing PIN, a missing key, a wrong token and another key of
 * the same label are each refused with a message saying which, leaving every file unchanged.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type * as Pkcs11Types from 'pkcs11js';
import { filesUnder } from '../helpers/files.js';
import { type SealdbProcess, spawnSealdb, startSealdbProcess } from '../helpers/process.js';
import { createSoftHsm } from '../helpers/softhsm.js';

const scratch = mkdtempSync(join(tmpdir(), 'sealdb-pkcs11-'));
const hsm = createSoftHsm(join(scratch, 'hsm'));
process.env.SOFTHSM2_CONF = hsm.conf;
const PIN = '13579';
const dataDir = join(scratch, 'data');
const SPEC = hsm.spec('sealdb-root', 'root-2026');
const env = { SOFTHSM2_CONF: hsm.conf, SEALDB_PKCS11_PIN: PIN };

const client = (endpoint: string) =>
  new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    maxAttempts: 1,
  });

async function refused(args: string[], extraEnv: NodeJS.ProcessEnv): Promise<string> {
  const run = spawnSealdb(['start', '--port', '0', '--data-dir', dataDir, ...args], {
    env: { ...process.env, ...extraEnv },
  });
  assert.equal(await run.exited, 1, run.output());
  return run.output();
}

describe('a PKCS#11 root of trust (SoftHSM)', () => {
  const running: SealdbProcess[] = [];
  before(async () => {
    hsm.initToken('sealdb-root', PIN);
    hsm.initToken('other-token', PIN);
    for (const spec of [SPEC, hsm.spec('other-token', 'root-2026')]) {
      const keygen = spawnSealdb(['root', 'pkcs11-keygen', '--root-pkcs11', spec], { env: { ...process.env, ...env } });
      assert.equal(await keygen.exited, 0, keygen.output());
    }
  });
  after(async () => {
    for (const server of running) if (server.child.exitCode === null) await server.stop('SIGKILL');
    rmSync(scratch, { recursive: true, force: true });
  });

  it('makes a non-extractable AES-256 key, and refuses to make a second of the same label', async () => {
    const again = spawnSealdb(['root', 'pkcs11-keygen', '--root-pkcs11', SPEC], { env: { ...process.env, ...env } });
    assert.equal(await again.exited, 1);
    assert.match(again.output(), /already has an object labelled "root-2026"/);

    const p = createRequire(import.meta.url)('pkcs11js') as typeof Pkcs11Types;
    const module = new p.PKCS11();
    module.load(hsm.module);
    module.C_Initialize();
    try {
      const slot = module.C_GetSlotList(true).find((s) => module.C_GetTokenInfo(s).label.trim() === 'sealdb-root');
      assert.ok(slot);
      const session = module.C_OpenSession(slot, p.CKF_SERIAL_SESSION);
      module.C_Login(session, p.CKU_USER, PIN);
      module.C_FindObjectsInit(session, [{ type: p.CKA_LABEL, value: 'root-2026' }]);
      const [key] = module.C_FindObjects(session, 2);
      module.C_FindObjectsFinal(session);
      assert.ok(key);
      const [extractable, sensitive, length] = module
        .C_GetAttributeValue(session, key, [
          { type: p.CKA_EXTRACTABLE },
          { type: p.CKA_SENSITIVE },
          { type: p.CKA_VALUE_LEN },
        ])
        .map((a) => a.value as Buffer);
      assert.equal(extractable?.[0], 0);
      assert.equal(sensitive?.[0], 1);
      assert.equal(length?.readUInt32LE(0), 32);
      assert.throws(() => module.C_GetAttributeValue(session, key, [{ type: p.CKA_VALUE }]), /CKR_ATTRIBUTE_SENSITIVE/);
      module.C_Logout(session);
      module.C_CloseSession(session);
    } finally {
      module.C_Finalize();
    }
  });

  it('starts, keeps data, and restarts with the same token key', async () => {
    const first = await startSealdbProcess(['--data-dir', dataDir, '--root-pkcs11', SPEC], env);
    running.push(first);
    assert.match(first.output(), /root key: PKCS#11 key "root-2026" on token "sealdb-root"/);
    assert.doesNotMatch(first.output(), new RegExp(PIN));
    const ddb = client(first.endpoint);
    await ddb.send(
      new CreateTableCommand({
        TableName: 'vault',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await ddb.send(new PutItemCommand({ TableName: 'vault', Item: { id: { S: 'a' }, v: { S: 'behind the HSM' } } }));
    ddb.destroy();
    assert.equal(await first.stop(), 0);

    const record = JSON.parse(readFileSync(join(dataDir, 'root-check.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(record.version, 2);
    assert.equal(record.kind, 'pkcs11');
    assert.deepEqual(record.pkcs11, { token: 'sealdb-root', keyLabel: 'root-2026' });
    // version(1) + IV(12) + the sealed 32-byte master key + tag(16)
    assert.equal(Buffer.from(record.wrappedMasterKey as string, 'base64').length, 61);

    const again = await startSealdbProcess(['--data-dir', dataDir, '--root-pkcs11', SPEC], env);
    running.push(again);
    const reader = client(again.endpoint);
    const got = await reader.send(new GetItemCommand({ TableName: 'vault', Key: { id: { S: 'a' } } }));
    assert.equal(got.Item?.v?.S, 'behind the HSM');
    reader.destroy();
    assert.equal(await again.stop(), 0);
  });

  it('refuses a wrong PIN, no PIN, a missing key, a wrong token and another key, changing nothing', async () => {
    const snapshot = new Map(filesUnder(dataDir).map((f) => [f, readFileSync(f)]));
    const wrongPin = await refused(['--root-pkcs11', SPEC], { ...env, SEALDB_PKCS11_PIN: '00000' });
    assert.match(
      wrongPin,
      /the PIN in SEALDB_PKCS11_PIN is wrong for PKCS#11 token "sealdb-root" \(CKR_PIN_INCORRECT\)/,
    );
    assert.doesNotMatch(wrongPin, /00000/);

    const noPin = await refused(['--root-pkcs11', SPEC], { SOFTHSM2_CONF: hsm.conf, SEALDB_PKCS11_PIN: '' });
    assert.match(noPin, /set SEALDB_PKCS11_PIN to the user PIN of the PKCS#11 token "sealdb-root"/);

    const missingKey = await refused(['--root-pkcs11', hsm.spec('sealdb-root', 'root-2027')], env);
    assert.match(missingKey, /PKCS#11 token "sealdb-root" has no key labelled "root-2027"/);
    assert.match(missingKey, /sealdb root pkcs11-keygen/);

    const wrongToken = await refused(['--root-pkcs11', hsm.spec('no-such-token', 'root-2026')], env);
    assert.match(wrongToken, /has no token labelled "no-such-token" \(its tokens: .*"sealdb-root"/);

    const otherKey = await refused(['--root-pkcs11', hsm.spec('other-token', 'root-2026')], env);
    assert.match(otherKey, /does not open this data directory's master key/);

    const keyFile = await refused(['--root-key-file', join(scratch, 'root.key')], env);
    assert.match(keyFile, /Its root is a PKCS#11 key \(--root-pkcs11\), not a root key file/);

    const badSpec = await refused(['--root-pkcs11', 'module=/x.so,token=t'], env);
    assert.match(badSpec, /--root-pkcs11 needs key-label/);
    const badModule = await refused(['--root-pkcs11', 'module=/no/such/lib.so,token=t,key-label=k'], env);
    assert.match(badModule, /cannot load the PKCS#11 module \/no\/such\/lib\.so/);

    for (const [file, bytes] of snapshot) assert.deepEqual(readFileSync(file), bytes, `${file} unchanged`);
  });
});
