/**
 * The KMS key store and the audit trail in the engine: nodes over one PostgreSQL schema share
 * keys, grants and the trail, a restart of every node (with empty data directories) loses
 * nothing, the digest chain verifies across nodes, and the engine's operator finds no key
 * material and no audit plaintext in a pg_dump (the README's threat model).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import {
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  KMSClient,
  ListAliasesCommand,
} from '@aws-sdk/client-kms';
import pg from 'pg';
import { HOUR_MS } from '../../src/cloudtrail/layout.js';
import { ManualClock } from '../../src/core/clock.js';
import { RootOfTrust } from '../../src/encryption/root-of-trust.js';
import { KeyMaterialVault } from '../../src/kms/key-material.js';
import { EngineBackend } from '../../src/storage/postgres/backend.js';
import { rejectsWith } from '../helpers/assert-aws.js';
import { startCluster, TEST_POSTGRES } from '../helpers/engine.js';
import { spawnSealdb, startSealdbProcess } from '../helpers/process.js';
import { dropTestSchema, startTestServer, type TestServer, testStorageUrl } from '../helpers/server.js';

const run = promisify(execFile);
const ACCOUNT = '111122223333';
const CREDS = {
  alice: { accessKeyId: 'AKIDALICE', secretAccessKey: 'alice-secret' },
  bob: { accessKeyId: 'AKIDBOB', secretAccessKey: 'bob-secret' },
};
const ALICE = `arn:aws:iam::${ACCOUNT}:user/alice`;
const BOB = `arn:aws:iam::${ACCOUNT}:user/bob`;
const AUTH = {
  accounts: [
    {
      accountId: ACCOUNT,
      accessKeys: [
        { ...CREDS.alice, userName: 'alice' },
        { ...CREDS.bob, userName: 'bob' },
      ],
    },
  ],
};
const canaries = {
  description: 'canaryDescriptionQx4',
  alias: 'alias/canaryAliasVb7',
  tagKey: 'canaryTagKeyMn2',
  tagValue: 'canaryTagValuePl9',
  policySid: 'canaryPolicySidHt6',
  context: 'canaryContextValueRw3',
  plaintext: 'canaryPlaintextZe8',
};
/** Only alice may use the key by its policy: anyone else needs a grant. */
const POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Sid: canaries.policySid, Effect: 'Allow', Principal: { AWS: ALICE }, Action: 'kms:*', Resource: '*' }],
});

interface Node {
  readonly server: TestServer;
  readonly alice: KMSClient;
  readonly bob: KMSClient;
  readonly trail: CloudTrailClient;
}

function clientsOf(server: TestServer): Node {
  const config = (credentials: { accessKeyId: string; secretAccessKey: string }) => ({
    ...server.clientConfig(credentials),
    systemClockOffset: server.clock.now() - Date.now(),
  });
  return {
    server,
    alice: new KMSClient(config(CREDS.alice)),
    bob: new KMSClient(config(CREDS.bob)),
    trail: new CloudTrailClient(config(CREDS.alice)),
  };
}

async function lookupAll(trail: CloudTrailClient): Promise<{ id: string; name: string; request: string }[]> {
  const out: { id: string; name: string; request: string }[] = [];
  let NextToken: string | undefined;
  do {
    const page = await trail.send(new LookupEventsCommand({ MaxResults: 50, NextToken }));
    for (const e of page.Events ?? []) {
      const record = JSON.parse(e.CloudTrailEvent ?? '{}') as { requestID: string };
      out.push({ id: e.EventId as string, name: e.EventName as string, request: record.requestID });
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return out;
}

/** Opens the engine as an operator's tool would, with the cluster's root of trust. */
async function withEngine<T>(
  node: TestServer,
  fn: (engine: EngineBackend, root: RootOfTrust) => Promise<T>,
): Promise<T> {
  const root = RootOfTrust.open({ kind: 'key-file', path: node.rootKeyFile }, node.dataDir);
  const engine = await EngineBackend.open({ url: node.storage as string });
  try {
    return await fn(engine, root);
  } finally {
    await engine.close();
    await engine.closeServices();
    root.destroy();
  }
}

const verifyEngineTrail = (node: TestServer) =>
  withEngine(node, (engine, root) => engine.trailStore(root, new ManualClock()).verify());

describe('engine storage: the KMS key store and the audit trail over two nodes', () => {
  let nodes: Node[];
  let storage: string;
  const scratches: string[] = [];
  let keyId: string;
  let ciphertext: Uint8Array;
  let bobsCiphertext: Uint8Array;
  const context = { purpose: canaries.context };

  const closeAll = async (list: Node[]) => {
    for (const n of list) {
      n.alice.destroy();
      n.bob.destroy();
      n.trail.destroy();
    }
    for (const n of [...list].reverse()) await n.server.close();
  };

  before(async () => {
    const servers = await startCluster(2, { auth: AUTH });
    storage = servers[0]?.storage as string;
    nodes = servers.map(clientsOf);
    scratches.push(...servers.map((s) => s.scratch));
  });
  after(async () => {
    await closeAll(nodes);
    for (const dir of scratches) rmSync(dir, { recursive: true, force: true });
    await dropTestSchema(storage);
  });

  const [a, b] = [() => nodes[0] as Node, () => nodes[1] as Node];
  /** Strict auth checks request times against the (moved) clock: new clients sign at its time. */
  const advance = (ms: number) => {
    a().server.clock.advance(ms);
    nodes = nodes.map((n) => {
      n.alice.destroy();
      n.bob.destroy();
      n.trail.destroy();
      return clientsOf(n.server);
    });
  };

  it('a key created on node A is usable on node B, and a state change on B holds on A', async () => {
    const created = await a().alice.send(
      new CreateKeyCommand({
        Description: canaries.description,
        Policy: POLICY,
        Tags: [{ TagKey: canaries.tagKey, TagValue: canaries.tagValue }],
      }),
    );
    keyId = created.KeyMetadata?.KeyId as string;
    await a().alice.send(new CreateAliasCommand({ AliasName: canaries.alias, TargetKeyId: keyId }));
    const described = await b().alice.send(new DescribeKeyCommand({ KeyId: canaries.alias }));
    assert.equal(described.KeyMetadata?.KeyId, keyId);
    assert.equal(described.KeyMetadata?.Description, canaries.description);
    const encrypted = await a().alice.send(
      new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(canaries.plaintext), EncryptionContext: context }),
    );
    ciphertext = encrypted.CiphertextBlob as Uint8Array;
    const decrypted = await b().alice.send(
      new DecryptCommand({ CiphertextBlob: ciphertext, EncryptionContext: context }),
    );
    assert.equal(Buffer.from(decrypted.Plaintext as Uint8Array).toString(), canaries.plaintext);
    await b().alice.send(new DisableKeyCommand({ KeyId: keyId }));
    await rejectsWith(
      a().alice.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })),
      'DisabledException',
    );
    await a().alice.send(new EnableKeyCommand({ KeyId: keyId }));
    await b().alice.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') }));
  });

  it('a grant made on node A is honoured on node B', async () => {
    // Without a grant bob may not use alice's key, on either node.
    await rejectsWith(
      b().bob.send(
        new EncryptCommand({ KeyId: `arn:aws:kms:us-east-1:${ACCOUNT}:key/${keyId}`, Plaintext: Buffer.from('x') }),
      ),
      'AccessDeniedException',
    );
    await a().alice.send(
      new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: BOB, Operations: ['Encrypt', 'Decrypt'] }),
    );
    const arn = `arn:aws:kms:us-east-1:${ACCOUNT}:key/${keyId}`;
    const encrypted = await b().bob.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('bob') }));
    bobsCiphertext = encrypted.CiphertextBlob as Uint8Array;
    const decrypted = await a().bob.send(new DecryptCommand({ CiphertextBlob: bobsCiphertext }));
    assert.equal(Buffer.from(decrypted.Plaintext as Uint8Array).toString(), 'bob');
  });

  it("a KMS call on node B appears in LookupEvents on node A, and A's on B", async () => {
    const onB = await b().alice.send(new DescribeKeyCommand({ KeyId: keyId }));
    const onA = await a().alice.send(new DescribeKeyCommand({ KeyId: keyId }));
    const seenOnA = await lookupAll(a().trail);
    const seenOnB = await lookupAll(b().trail);
    assert.ok(seenOnA.some((e) => e.request === onB.$metadata.requestId && e.name === 'DescribeKey'));
    assert.ok(seenOnB.some((e) => e.request === onA.$metadata.requestId && e.name === 'DescribeKey'));
    // One trail: both nodes list the same events, each once.
    assert.deepEqual(
      seenOnA.map((e) => e.id),
      seenOnB.map((e) => e.id),
    );
    assert.equal(new Set(seenOnA.map((e) => e.id)).size, seenOnA.length);
  });

  it('closing the hour on both nodes at once writes one digest chain that verifies', async () => {
    advance(HOUR_MS);
    await Promise.all([a().server.sweep(), b().server.sweep()]);
    // Calls in the new hour from both nodes, then that hour closed too: the chain links them.
    await a().alice.send(new DescribeKeyCommand({ KeyId: keyId }));
    await b().alice.send(new DescribeKeyCommand({ KeyId: keyId }));
    advance(HOUR_MS);
    await Promise.all([b().server.sweep(), a().server.sweep()]);
    const result = await verifyEngineTrail(a().server);
    assert.deepEqual(result.problems, []);
    const account = result.accounts.find((x) => x.accountId === ACCOUNT);
    assert.equal(account?.digests, 2);
    assert.ok((account?.logFiles ?? 0) >= 2);
    // The operator's check: `sealdb audit verify --storage` with the cluster's root key.
    const cli = spawnSealdb([
      'audit',
      'verify',
      '--storage',
      storage,
      '--data-dir',
      a().server.dataDir,
      '--root-key-file',
      a().server.rootKeyFile,
    ]);
    assert.equal(await cli.exited, 0, cli.output());
    assert.match(cli.output(), new RegExp(`account ${ACCOUNT} \\(us-east-1\\): 2 digest\\(s\\)`));
    assert.match(cli.output(), /OK: every digest and record verifies/);
  });

  it('a restart of both nodes on empty data directories loses no key, grant, alias or audit record', async () => {
    const before = await lookupAll(a().trail);
    await closeAll(nodes);
    const first = nodes[0]?.server as TestServer;
    const restarted: TestServer[] = [];
    for (let i = 0; i < 2; i++) {
      restarted.push(
        await startTestServer({
          auth: AUTH,
          storage,
          clock: first.clock,
          rootKeyFile: first.rootKeyFile,
          dataDir: join(first.scratch, `restarted-${i}`),
        }),
      );
    }
    nodes = restarted.map(clientsOf);
    scratches.push(...restarted.map((s) => s.scratch));
    const decrypted = await b().alice.send(
      new DecryptCommand({ CiphertextBlob: ciphertext, EncryptionContext: context }),
    );
    assert.equal(Buffer.from(decrypted.Plaintext as Uint8Array).toString(), canaries.plaintext);
    const bobs = await a().bob.send(new DecryptCommand({ CiphertextBlob: bobsCiphertext }));
    assert.equal(Buffer.from(bobs.Plaintext as Uint8Array).toString(), 'bob');
    const aliases = await a().alice.send(new ListAliasesCommand({ KeyId: keyId }));
    assert.deepEqual(
      aliases.Aliases?.map((x) => x.AliasName),
      [canaries.alias],
    );
    const after = await lookupAll(b().trail);
    const ids = new Set(after.map((e) => e.id));
    for (const e of before) assert.ok(ids.has(e.id), `event ${e.name} ${e.id} was lost in the restart`);
    assert.deepEqual((await verifyEngineTrail(a().server)).problems, []);
  });

  it('pg_dump of the schema shows no key material, data key, key metadata or audit plaintext', async () => {
    advance(0);
    const generated = await a().alice.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }));
    const dataKey = Buffer.from(generated.Plaintext as Uint8Array);
    const material = await withEngine(a().server, async (engine, root) => {
      const store = engine.keyStore(root);
      const vault = new KeyMaterialVault(root, store);
      try {
        return await engine.runService(async () => Buffer.from(vault.material(keyId, 1) as Buffer));
      } finally {
        vault.close();
        store.close();
      }
    });
    assert.equal(material.length, 32);
    const url = new URL(storage);
    const schema = url.searchParams.get('schema') as string;
    url.searchParams.delete('schema');
    const { stdout: dump } = await run('pg_dump', ['--dbname', url.toString(), '--schema', schema, '--data-only'], {
      maxBuffer: 64 * 1024 * 1024,
    });
    assert.ok(dump.includes('audit_records') && dump.includes('audit_digests'), 'the dump holds the trail');
    const lower = dump.toLowerCase();
    const secrets: Record<string, Buffer> = {
      'key material': material,
      'a data key': dataKey,
      ...Object.fromEntries(Object.entries(canaries).map(([k, v]) => [k, Buffer.from(v, 'utf8')])),
      // What every audit record and key record holds in plaintext.
      'the key id': Buffer.from(keyId, 'utf8'),
      'the event source': Buffer.from('kms.amazonaws.com', 'utf8'),
      'the account id': Buffer.from(ACCOUNT, 'utf8'),
      "alice's ARN": Buffer.from(ALICE, 'utf8'),
      'a digest field': Buffer.from('digestPublicKeyFingerprint', 'utf8'),
      'the signing key': Buffer.from('wrappedPrivateKey', 'utf8'),
    };
    for (const [what, bytes] of Object.entries(secrets)) {
      for (const form of [bytes.toString('utf8'), bytes.toString('hex'), bytes.toString('base64')]) {
        if (form.length < 8) continue;
        assert.ok(!lower.includes(form.toLowerCase()), `${what} appears in the dump (${form.slice(0, 24)}…)`);
      }
    }
  });

  it('a record row changed or moved in the engine fails verification, naming its trail', async () => {
    const url = new URL(storage);
    const schema = url.searchParams.get('schema') as string;
    url.searchParams.delete('schema');
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      // Two records of a digested hour: each gets the other's ciphertext.
      const rows = await client.query<{ trail: Buffer; hour: string; pos: string; sealed: Buffer }>(
        `SELECT trail, hour, pos, sealed FROM "${schema}".audit_records r
         WHERE EXISTS (SELECT 1 FROM "${schema}".audit_digests d WHERE d.trail = r.trail AND d.end_ms = r.hour + ${HOUR_MS})
         ORDER BY hour, pos LIMIT 2`,
      );
      const [x, y] = rows.rows;
      assert.ok(x && y);
      for (const [row, other] of [
        [x, y],
        [y, x],
      ] as const) {
        await client.query(
          `UPDATE "${schema}".audit_records SET sealed = $1 WHERE trail = $2 AND hour = $3 AND pos = $4`,
          [other.sealed, row.trail, row.hour, row.pos],
        );
      }
    } finally {
      await client.end();
    }
    const result = await verifyEngineTrail(a().server);
    assert.equal(result.ok, false);
    assert.ok(
      result.problems.some((p) => p.includes(ACCOUNT) && p.includes('does not authenticate')),
      result.problems.join('; '),
    );
  });
});

describe('engine storage: two sealdb processes killed and restarted', () => {
  it('keeps the key made on one process and every audit record of both', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'sealdb-engine-kms-'));
    const storage = testStorageUrl(TEST_POSTGRES) as string;
    const rootKey = join(scratch, 'keys', 'root.key');
    const start = (name: string) =>
      startSealdbProcess([
        '--data-dir',
        join(scratch, name),
        '--root-key-file',
        rootKey,
        '--auth',
        'local',
        '--storage',
        storage,
      ]);
    const clientOf = (endpoint: string) => ({
      kms: new KMSClient({ endpoint, region: 'us-east-1', credentials: CREDS.alice, maxAttempts: 1 }),
      trail: new CloudTrailClient({ endpoint, region: 'us-east-1', credentials: CREDS.alice, maxAttempts: 1 }),
    });
    try {
      let first = await start('node-a');
      let second = await start('node-b');
      let a = clientOf(first.endpoint);
      let b = clientOf(second.endpoint);
      const created = await a.kms.send(new CreateKeyCommand({}));
      const keyId = created.KeyMetadata?.KeyId as string;
      const encrypted = await b.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('across') }));
      const answered = [created.$metadata.requestId, encrypted.$metadata.requestId];
      // Killed the instant the answers are in: nothing is flushed at exit.
      await first.stop('SIGKILL');
      await second.stop('SIGKILL');
      for (const c of [a, b]) {
        c.kms.destroy();
        c.trail.destroy();
      }
      first = await start('node-c');
      second = await start('node-d');
      a = clientOf(first.endpoint);
      b = clientOf(second.endpoint);
      try {
        const decrypted = await a.kms.send(new DecryptCommand({ CiphertextBlob: encrypted.CiphertextBlob }));
        assert.equal(Buffer.from(decrypted.Plaintext as Uint8Array).toString(), 'across');
        const events = await lookupAll(b.trail);
        for (const id of answered)
          assert.ok(
            events.some((e) => e.request === id),
            `request ${id} lost its record`,
          );
      } finally {
        for (const c of [a, b]) {
          c.kms.destroy();
          c.trail.destroy();
        }
        await first.stop();
        await second.stop();
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
      await dropTestSchema(storage);
    }
  });
});
