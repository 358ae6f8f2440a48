// Event-loop stall while one client sends a 15 MB body (issue 12, item 11).
//
//   npm run bench:stall                       this build (dist/)
//   node bench/stall.mjs --dist /path/dist    another build, e.g. main's, for the "before" numbers
//
// For each scenario a fresh server process is started; while the large request is sent and
// answered, a second client sends a health check (GET /) every 5 ms. Reported: the server's
// largest event-loop delay (perf_hooks monitorEventLoopDelay, 1 ms resolution), the slowest
// health check, i.e. how long one large request held every other client, and the longest the
// main thread itself ran between two 2 ms ticks (its CPU time, Linux only): on a busy machine the
// first two also count time the OS gave to other threads, the last does not.
import { fork } from 'node:child_process';
import { request } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const distArg = process.argv.indexOf('--dist');
const dist = resolve(distArg > 0 ? process.argv[distArg + 1] : join(here, '..', 'dist'));
const MB = 1_000_000;

const amzDate = new Date()
  .toISOString()
  .replace(/\.\d{3}Z$/, 'Z')
  .replace(/[-:]/g, '');
const auth = (key) =>
  `AWS4-HMAC-SHA256 Credential=${key}/${amzDate.slice(0, 8)}/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`;

/** ~bytes of BatchWriteItem-shaped JSON: many small objects, the costly shape to parse. */
function manyObjects(bytes) {
  const one = (i) =>
    `{"PutRequest":{"Item":{"id":{"S":"key-${i}"},"n":{"N":"${i}"},"tags":{"L":[{"S":"a"},{"S":"b"}]},"m":{"M":{"x":{"S":"hello"},"y":{"BOOL":true}}}}}}`;
  const parts = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const p = one(i);
    parts.push(p);
    size += p.length + 1;
  }
  return Buffer.from(`{"RequestItems":{"bench":[${parts.join(',')}]}}`);
}

/** A valid BatchWriteItem as large as DynamoDB allows: 25 items of ~390 KB of small attributes. */
function largestValidBatch() {
  const attributes = [];
  for (let a = 0; attributes.join(',').length < 390_000; a++) attributes.push(`"a${a}":{"S":"value-${a}"}`);
  const item = attributes.join(',');
  const puts = Array.from({ length: 25 }, (_, i) => `{"PutRequest":{"Item":{"id":{"S":"big-${i}"},${item}}}}`);
  return Buffer.from(`{"RequestItems":{"bench":[${puts.join(',')}]}}`);
}

const createBenchTable = Buffer.from(
  JSON.stringify({
    TableName: 'bench',
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
  }),
);

const scenarios = [
  {
    name: 'strict, unknown access key, 15 MB BatchWriteItem-shaped body',
    mode: 'strict',
    target: 'DynamoDB_20120810.BatchWriteItem',
    authorization: auth('AKIAUNKNOWN000000000'),
    body: () => manyObjects(15 * MB),
  },
  {
    name: 'local, 15 MB BatchWriteItem-shaped body to an unknown operation (parse only)',
    mode: 'local',
    target: 'DynamoDB_20120810.NoSuchOperation',
    authorization: auth('AKIDLOCAL'),
    body: () => manyObjects(15 * MB),
  },
  {
    name: 'local, 15 MB BatchWriteItem-shaped body to BatchWriteItem (parse + validation)',
    mode: 'local',
    target: 'DynamoDB_20120810.BatchWriteItem',
    authorization: auth('AKIDLOCAL'),
    body: () => manyObjects(15 * MB),
  },
  {
    name: 'local, the largest valid BatchWriteItem: 25 items of 390 KB of small attributes (parse + validation + write)',
    mode: 'local',
    target: 'DynamoDB_20120810.BatchWriteItem',
    authorization: auth('AKIDLOCAL'),
    body: largestValidBatch,
    setup: { target: 'DynamoDB_20120810.CreateTable', body: createBenchTable },
  },
  {
    name: 'local, one 15 MB string to an unknown operation (parse only)',
    mode: 'local',
    target: 'DynamoDB_20120810.NoSuchOperation',
    authorization: auth('AKIDLOCAL'),
    body: () => Buffer.from(`{"TableName":"bench","Item":{"id":{"S":"x"},"v":{"S":"${'y'.repeat(15 * MB)}"}}}`),
  },
  {
    name: 'local, PutItem with one 15 MB string (parse + validation)',
    mode: 'local',
    target: 'DynamoDB_20120810.PutItem',
    authorization: auth('AKIDLOCAL'),
    body: () => Buffer.from(`{"TableName":"bench","Item":{"id":{"S":"x"},"v":{"S":"${'y'.repeat(15 * MB)}"}}}`),
  },
];

function post(port, scenario, body) {
  return new Promise((resolvePost, reject) => {
    const started = performance.now();
    let answered = false;
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        agent: false,
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': scenario.target,
          'x-amz-date': amzDate,
          authorization: scenario.authorization,
          'content-length': String(body.length),
        },
      },
      (res) => {
        answered = true;
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolvePost({
            status: res.statusCode,
            ms: performance.now() - started,
            type:
              (Buffer.concat(chunks)
                .toString()
                .match(/"__type":"([^"]*)"/) ?? [])[1] ?? '',
          }),
        );
      },
    );
    // A server that refuses from the headers answers before the body is sent and closes: the
    // rest of the body then fails to write (EPIPE), which is no failure of the request.
    req.on('error', (error) => {
      if (answered) return;
      if (error.code === 'EPIPE' || error.code === 'ECONNRESET') {
        resolvePost({ status: 'closed', ms: performance.now() - started, type: 'before the body was sent' });
      } else reject(error);
    });
    req.end(body);
  });
}

function health(port) {
  return new Promise((resolveHealth, reject) => {
    const started = performance.now();
    request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolveHealth(performance.now() - started));
    })
      .on('error', reject)
      .end();
  });
}

const ask = (child, message, key) =>
  new Promise((resolveAsk) => {
    const on = (reply) => {
      if (key in reply) {
        child.off('message', on);
        resolveAsk(reply);
      }
    };
    child.on('message', on);
    child.send(message);
  });

console.log(`build: ${dist}`);
for (const scenario of scenarios) {
  const child = fork(join(here, 'stall-server.mjs'), [dist, scenario.mode], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const { port } = await new Promise((resolveStart) => child.once('message', resolveStart));
  if (scenario.setup) await post(port, { ...scenario, ...scenario.setup }, scenario.setup.body);
  const body = scenario.body();
  // Warm up: the first large body also starts the parse workers.
  await post(port, scenario, body);
  for (let i = 0; i < 20; i++) await health(port);
  const rounds = [];
  for (let round = 0; round < 3; round++) {
    await ask(child, 'reset', 'reset');
    let done = false;
    let slowest = 0;
    const probes = (async () => {
      while (!done) {
        slowest = Math.max(slowest, await health(port));
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const answer = await post(port, scenario, body);
    done = true;
    await probes;
    const loop = await ask(child, 'read', 'maxMs');
    rounds.push({ ...answer, slowest, loopMax: loop.maxMs, busiest: loop.busiestMs ?? Number.NaN });
  }
  const exited = new Promise((r) => child.once('exit', r));
  child.send('stop');
  await exited;
  const worst = (key) => Math.max(...rounds.map((r) => r[key])).toFixed(1);
  console.log(`\n${scenario.name}  (${(body.length / MB).toFixed(1)} MB)`);
  console.log(
    `  answer: ${rounds[0].status} ${rounds[0].type}, in ${rounds.map((r) => r.ms.toFixed(0)).join(' / ')} ms`,
  );
  console.log(
    `  event-loop delay max: ${worst('loopMax')} ms   slowest concurrent health check: ${worst('slowest')} ms   longest main-thread run: ${worst('busiest')} ms  (worst of 3)`,
  );
}
