// What the bench scripts share: command-line options, a server process's CPU time, and a DynamoDB
// call signed the way `--auth local` accepts (any signature under the local access key).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';

/** The value after `name` on the command line, or `fallback`. */
export function arg(name, fallback) {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : fallback;
}

const CLOCK_TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/**
 * utime + stime of a process, all its threads (the checkpoint worker's, a JVM's), in seconds:
 * /proc/<pid>/stat fields 14 and 15, counted after the command name (which may hold spaces).
 */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

const amzDate = new Date()
  .toISOString()
  .replace(/\.\d{3}Z$/, 'Z')
  .replace(/[-:]/g, '');
const authorization = `AWS4-HMAC-SHA256 Credential=AKIDLOCAL/${amzDate.slice(0, 8)}/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`;

/**
 * One call of `target` (e.g. `DynamoDB_20120810.PutItem`, `DynamoDBStreams_20120810.GetRecords`)
 * over `agent`; resolves with the answer's JSON, rejects on any status but 200 with the error's
 * `__type` and message. KMS wants `application/x-amz-json-1.1` as `contentType`.
 */
export function callTarget(port, agent, target, body, contentType = 'application/x-amz-json-1.0') {
  const text = JSON.stringify(body);
  return new Promise((resolveCall, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        agent,
        headers: {
          'content-type': contentType,
          'x-amz-target': target,
          'x-amz-date': amzDate,
          authorization,
          'content-length': Buffer.byteLength(text),
        },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const answer = Buffer.concat(chunks).toString('utf8');
          let json;
          try {
            json = answer.length > 0 ? JSON.parse(answer) : {};
          } catch {
            json = { raw: answer };
          }
          if (res.statusCode === 200) resolveCall(json);
          else {
            const detail = json.message ?? json.Message ?? answer.slice(0, 200);
            reject(new Error(`${target}: HTTP ${res.statusCode} ${json.__type ?? ''} ${detail}`));
          }
        });
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

/** One DynamoDB operation (see callTarget). */
export const callDynamoDb = (port, agent, operation, body) =>
  callTarget(port, agent, `DynamoDB_20120810.${operation}`, body);
