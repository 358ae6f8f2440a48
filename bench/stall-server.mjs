// Child of bench/stall.mjs: one in-memory sealdb from the build given as argv[2] (a dist folder),
// auth mode argv[3] ('local' | 'strict'), with an event-loop delay histogram the parent reads.

import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const [dist, mode] = process.argv.slice(2);
const { startServer } = await import(pathToFileURL(join(dist, 'src', 'server.js')).href);
const server = await startServer({
  host: '127.0.0.1',
  port: 0,
  dataDir: undefined,
  region: 'us-east-1',
  rootKey: { kind: 'ephemeral' },
  auth:
    mode === 'strict'
      ? {
          mode: 'strict',
          accounts: [
            {
              accountId: '111111111111',
              accessKeys: [{ accessKeyId: 'AKIABENCH00000000001', secretAccessKey: 'bench-secret' }],
            },
          ],
        }
      : { mode: 'local' },
  sweepIntervalMs: 0,
});
const histogram = monitorEventLoopDelay({ resolution: 1 });
histogram.enable();
process.on('message', (message) => {
  if (message === 'reset') {
    histogram.reset();
    process.send?.({ reset: true });
  } else if (message === 'read') {
    process.send?.({ maxMs: histogram.max / 1e6, p99Ms: histogram.percentile(99) / 1e6 });
  } else if (message === 'stop') {
    server.close().then(() => process.exit(0));
  }
});
process.send?.({ port: server.port });
