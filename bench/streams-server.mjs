// Child of bench/streams.mjs: one sealdb from the build given as argv[2] (a dist folder), data in
// the folder argv[3], reporting its own CPU time when asked (so the client's CPU is not counted).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dist, dir] = process.argv.slice(2);
const { startServer } = await import(pathToFileURL(join(dist, 'src', 'server.js')).href);
const server = await startServer({
  host: '127.0.0.1',
  port: 0,
  dataDir: join(dir, 'data'),
  region: 'us-east-1',
  rootKey: { kind: 'key-file', path: join(dir, 'root.key') },
  auth: { mode: 'local' },
  sweepIntervalMs: 0,
  // bench/pitr.mjs moves the clock past LatestRestorableDateTime's 5 minutes before its restore.
  allowTimeTravel: true,
  // A benchmark that meets a server fault says what it was.
  onInternalError: (error) => console.error('sealdb internal error:', error),
});
process.on('message', (message) => {
  if (message === 'cpu') {
    const { user, system } = process.cpuUsage();
    process.send?.({ cpuMicros: user + system });
  } else if (message === 'stop') {
    server.close().then(() => process.exit(0));
  }
});
process.send?.({ port: server.port });
