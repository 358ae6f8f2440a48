// Event-loop stall while one client sends a huge request (issue 12, item 11).
//
//   npm run bench:stall                          this build (dist/), data on disk
//   node bench/stall.mjs --dist /path/dist       another build, e.g. main's, for the "before" numbers
//   node bench/stall.mjs --storage memory        the server in memory (--in-memory)
//   node bench/stall.mjs --only PutItem          scenarios whose name contains the text
//   node bench/stall.mjs --port 9100 --pid 1234 --mode strict
//                                                against a running `sealdb start` (its process id, for
//                                                schedstat; strict needs the access key
//                                                AKIABENCH00000000001 / bench-secret in its accounts)
//
// For each scenario a fresh server process is started (bench/stall-server.mjs); while the large
// request is sent and answered, two other clients each send GetItems one after another over their
// own keep-alive connection. Reported, worst of 3 rounds:
// - event-loop delay max: the server's largest event-loop delay (perf_hooks monitorEventLoopDelay,
//   1 ms resolution), wall time;
// - longest main-thread run: the most CPU the main thread spent between two 2 ms ticks (Linux
//   schedstat): how long sealdb's own code held the loop. On a loaded machine the wall-time figures
//   also count time the OS gave other threads and processes, which this one does not;
// - slowest concurrent GetItem (and how many were answered meanwhile), as a client sees it.
import { fork } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const dist = resolve(arg('--dist', join(here, '..', 'dist')));
const storage = arg('--storage', 'disk');
const only = arg('--only', '');
const running = arg('--port') && {
  port: Number(arg('--port')),
  pid: Number(arg('--pid')),
  mode: arg('--mode', 'local'),
};
const MB = 1_000_000;
const REGION = 'us-east-1';
/** The account stall-server.mjs sets up in strict mode (any key signs in local mode). */
const KEY = { id: 'AKIABENCH00000000001', secret: 'bench-secret' };

const amzDateOf = (date) =>
  date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
const hex = (data) => createHash('sha256').update(data).digest('hex');
const hmac = (key, data) => createHmac('sha256', key).update(data).digest();

/** SigV4 headers of a DynamoDB JSON call; `accessKeyId` alone (no secret) signs with a made-up signature. */
function signedHeaders(port, target, body, accessKeyId, secret) {
  const amzDate = amzDateOf(new Date());
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${REGION}/dynamodb/aws4_request`;
  const headers = {
    'content-type': 'application/x-amz-json-1.0',
    host: `127.0.0.1:${port}`,
    'x-amz-date': amzDate,
    'x-amz-target': target,
  };
  const names = Object.keys(headers).sort();
  let signature = '0'.repeat(64);
  if (secret) {
    const canonical = ['POST', '/', '', ...names.map((n) => `${n}:${headers[n]}`), '', names.join(';'), hex(body)].join(
      '\n',
    );
    const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, hex(canonical)].join('\n');
    const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), REGION), 'dynamodb'), 'aws4_request');
    signature = createHmac('sha256', key).update(toSign).digest('hex');
  }
  return {
    ...headers,
    authorization: `AWS4-HMAC-SHA256 Credential=${accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`,
    'content-length': String(body.length),
  };
}

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

/** The attributes of an item as large as DynamoDB allows, made of ~14k tiny ones (~390 KB of JSON). */
function tinyAttributes() {
  const attributes = [];
  for (let a = 0, length = 0; length < 390_000; a++) {
    const attribute = `"a${a}":{"S":"value-${a}"}`;
    attributes.push(attribute);
    length += attribute.length + 1;
  }
  return attributes.join(',');
}

/** A valid BatchWriteItem as large as DynamoDB allows: 25 items of ~390 KB of small attributes. */
function largestValidBatch() {
  const item = tinyAttributes();
  const puts = Array.from({ length: 25 }, (_, i) => `{"PutRequest":{"Item":{"id":{"S":"big-${i}"},${item}}}}`);
  return Buffer.from(`{"RequestItems":{"bench":[${puts.join(',')}]}}`);
}

/** A valid PutItem as large as DynamoDB allows, of ~14k tiny attributes. */
const largestValidPut = () => Buffer.from(`{"TableName":"bench","Item":{"id":{"S":"big-put"},${tinyAttributes()}}}`);

const oneLongString = () =>
  Buffer.from(`{"TableName":"bench","Item":{"id":{"S":"x"},"v":{"S":"${'y'.repeat(15 * MB)}"}}}`);

const createBenchTable = Buffer.from(
  JSON.stringify({
    TableName: 'bench',
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
  }),
);
const probeItem = Buffer.from(JSON.stringify({ TableName: 'bench', Item: { id: { S: 'probe' }, v: { S: 'here' } } }));
const probeGet = Buffer.from(JSON.stringify({ TableName: 'bench', Key: { id: { S: 'probe' } } }));

const scenarios = [
  {
    name: 'strict, unknown access key, 15 MB BatchWriteItem-shaped body (refused from the headers)',
    mode: 'strict',
    operation: 'BatchWriteItem',
    signer: { id: 'AKIAUNKNOWN000000000' },
    body: () => manyObjects(15 * MB),
  },
  {
    name: 'strict, signed, 15 MB BatchWriteItem of ~110k items (refused: over 25 requests)',
    mode: 'strict',
    operation: 'BatchWriteItem',
    body: () => manyObjects(15 * MB),
  },
  {
    name: 'local, 15 MB BatchWriteItem-shaped body to an unknown operation (parse only)',
    mode: 'local',
    operation: 'NoSuchOperation',
    body: () => manyObjects(15 * MB),
  },
  {
    name: 'local, the largest valid BatchWriteItem: 25 items of 390 KB of tiny attributes (checks + write)',
    mode: 'local',
    operation: 'BatchWriteItem',
    body: largestValidBatch,
  },
  {
    name: 'strict, signed, the largest valid BatchWriteItem (checks + write)',
    mode: 'strict',
    operation: 'BatchWriteItem',
    body: largestValidBatch,
  },
  {
    name: 'local, the largest valid PutItem: 390 KB of tiny attributes (checks + write)',
    mode: 'local',
    operation: 'PutItem',
    body: largestValidPut,
  },
  {
    name: 'local, PutItem with one 15 MB string (refused: item size)',
    mode: 'local',
    operation: 'PutItem',
    body: oneLongString,
  },
];

function post(port, operation, body, { agent, signer = { id: KEY.id, secret: KEY.secret } } = {}) {
  return new Promise((resolvePost, reject) => {
    const started = performance.now();
    let answered = false;
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        agent: agent ?? false,
        headers: signedHeaders(port, `DynamoDB_20120810.${operation}`, body, signer.id, signer.secret),
      },
      (res) => {
        answered = true;
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          resolvePost({
            status: res.statusCode,
            ms: performance.now() - started,
            type: (text.match(/"__type":"([^"]*)"/) ?? [])[1] ?? '',
            text,
          });
        });
      },
    );
    // A server that refuses from the headers answers before the body is sent and closes: the
    // rest of the body then fails to write (EPIPE), which is no failure of the request.
    req.on('error', (error) => {
      if (answered) return;
      if (error.code === 'EPIPE' || error.code === 'ECONNRESET') {
        resolvePost({ status: 'closed', ms: performance.now() - started, type: 'before the body was sent', text: '' });
      } else reject(error);
    });
    req.end(body);
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

/** Two clients, each sending GetItems one after another on its own keep-alive connection, until stopped. */
function probe(port) {
  let stop = false;
  let slowest = 0;
  let answered = 0;
  const agents = [];
  const loops = Array.from({ length: 2 }, async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    while (!stop) {
      const answer = await post(port, 'GetItem', probeGet, { agent });
      if (answer.status !== 200) throw new Error(`GetItem answered ${answer.status}: ${answer.text}`);
      slowest = Math.max(slowest, answer.ms);
      answered++;
    }
  });
  return async () => {
    stop = true;
    await Promise.all(loops);
    for (const agent of agents) agent.destroy();
    return { slowest, answered };
  };
}

/**
 * A running server, watched from outside: its main thread's CPU time (schedstat) read every 2 ms;
 * the most it grew in a window of at most 5 ms of wall time (a longer gap is this process's own).
 * Not the length of a run (which only a timer on that thread sees): the slowest GetItem is the measure here.
 */
function watchRunning(pid) {
  const file = `/proc/${pid}/task/${pid}/schedstat`;
  const cpu = () => Number(readFileSync(file, 'utf8').split(' ')[0]);
  let busiestMs = 0;
  let last = { cpu: cpu(), at: performance.now() };
  const timer = setInterval(() => {
    const now = { cpu: cpu(), at: performance.now() };
    if (now.at - last.at <= 5) busiestMs = Math.max(busiestMs, (now.cpu - last.cpu) / 1e6);
    last = now;
  }, 2);
  return {
    send(message) {
      if (message === 'reset') busiestMs = 0;
      else if (message === 'stop') clearInterval(timer);
    },
    read: () => ({ maxMs: Number.NaN, busiestMs }),
  };
}

console.log(
  running ? `running server: port ${running.port}, pid ${running.pid}` : `build: ${dist}   storage: ${storage}`,
);
const chosen = scenarios.filter((s) => s.name.includes(only) && (!running || s.mode === running.mode));
for (const [n, scenario] of chosen.entries()) {
  const child = running
    ? undefined
    : fork(join(here, 'stall-server.mjs'), [dist, scenario.mode, storage], {
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      });
  const watcher = running ? watchRunning(running.pid) : undefined;
  const port = running ? running.port : (await new Promise((resolveStart) => child.once('message', resolveStart))).port;
  for (const [operation, body] of [
    ['CreateTable', createBenchTable],
    ['PutItem', probeItem],
  ]) {
    if (running && n > 0) break;
    const answer = await post(port, operation, body);
    if (answer.status !== 200 && !answer.text.includes('ResourceInUseException')) {
      throw new Error(`${operation} answered ${answer.status}: ${answer.text}`);
    }
  }
  const body = scenario.body();
  const send = () => post(port, scenario.operation, body, scenario.signer ? { signer: scenario.signer } : {});
  // Warm up: the first large body also starts the JSON workers.
  await send();
  const rounds = [];
  for (let round = 0; round < 3; round++) {
    if (watcher) watcher.send('reset');
    else await ask(child, 'reset', 'reset');
    const stop = probe(port);
    const answer = await send();
    const probes = await stop();
    const loop = watcher ? watcher.read() : await ask(child, 'read', 'maxMs');
    rounds.push({ ...answer, ...probes, loopMax: loop.maxMs, busiest: loop.busiestMs ?? Number.NaN });
  }
  if (watcher) watcher.send('stop');
  else {
    const exited = new Promise((r) => child.once('exit', r));
    child.send('stop');
    await exited;
  }
  const worst = (key) => Math.max(...rounds.map((r) => r[key])).toFixed(1);
  console.log(`\n${scenario.name}  (${(body.length / MB).toFixed(1)} MB)`);
  console.log(
    `  answer: ${rounds[0].status} ${rounds[0].type}, in ${rounds.map((r) => r.ms.toFixed(0)).join(' / ')} ms`,
  );
  console.log(
    (running
      ? `  most main-thread CPU in a 2–5 ms window (watched from outside): ${worst('busiest')} ms   `
      : `  longest main-thread run: ${worst('busiest')} ms   event-loop delay max: ${worst('loopMax')} ms   `) +
      `slowest concurrent GetItem: ${worst('slowest')} ms (${rounds.map((r) => r.answered).join(' / ')} answered)  (worst of 3)`,
  );
}
