// The ceiling: a bare node:http server that reads each request and answers with a fixed
// GetItem-sized body, so the harness can show every system's throughput as a fraction of it.
import http from 'node:http';

const port = Number(process.argv[2] ?? 8099);
const body = Buffer.from(JSON.stringify({ Item: { id: { S: 'k000000001' }, payload: { S: 'x'.repeat(1000) } } }));
http
  .createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.0', 'Content-Length': body.length });
      res.end(body);
    });
  })
  .listen(port, '127.0.0.1');
