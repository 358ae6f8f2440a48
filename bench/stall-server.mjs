// Child of bench/stall.mjs: one sealdb from the build given as argv[2] (a dist folder), auth mode
// argv[3] ('local' | 'strict'), in memory or, with argv[4] = 'disk', on a fresh data directory
// (encrypted files, as `sealdb start --data-dir` runs), with an event-loop delay histogram the
// parent reads.
//
// On a loaded machine the event loop also waits while the OS runs other threads (the JSON
// workers, other processes), which no code of sealdb can avoid. So beside the delay, a timer
// reads the main thread's own CPU time (Linux schedstat) every 2 ms: the most CPU the main
// thread spent between two ticks is the longest it held the loop itself.

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const [dist, mode, storage] = process.argv.slice(2);
const { startServer } = await import(pathToFileURL(join(dist, 'src', 'server.js')).href);
const scratch = storage === 'disk' ? mkdtempSync(join(tmpdir(), 'sealdb-stall-')) : undefined;
const server = await startServer({
  host: '127.0.0.1',
  port: 0,
  dataDir: scratch && join(scratch, 'data'),
  region: 'us-east-1',
  rootKey: scratch ? { kind: 'key-file', path: join(scratch, 'root.key') } : { kind: 'ephemeral' },
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
const schedstat = `/proc/self/task/${process.pid}/schedstat`;
const onCpuNs = existsSync(schedstat) ? () => Number(readFileSync(schedstat, 'utf8').split(' ')[0]) : undefined;
let busiestMs = 0;
if (onCpuNs) {
  let last = onCpuNs();
  setInterval(() => {
    const now = onCpuNs();
    busiestMs = Math.max(busiestMs, (now - last) / 1e6);
    last = now;
  }, 2).unref();
}
process.on('message', (message) => {
  if (message === 'reset') {
    histogram.reset();
    busiestMs = 0;
    process.send?.({ reset: true });
  } else if (message === 'read') {
    process.send?.({
      maxMs: histogram.max / 1e6,
      p99Ms: histogram.percentile(99) / 1e6,
      busiestMs: onCpuNs ? busiestMs : undefined,
    });
  } else if (message === 'stop') {
    server.close().then(() => {
      if (scratch) rmSync(scratch, { recursive: true, force: true });
      process.exit(0);
    });
  }
});
process.send?.({ port: server.port });
