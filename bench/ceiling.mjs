// The ceiling: a bare node:http server that reads and JSON-parses each request body and answers
// with a fixed GetItem-sized body, so the harness can show every system's throughput and CPU per
// request as a fraction of it (the floor a Node HTTP server cannot go below).
import http from 'node:http';

const port = Number(process.argv[2] ?? 8099);
const body = Buffer.from(JSON.stringify({ Item: { id: { S: 'k000000001' }, payload: { S: 'x'.repeat(1000) } } }));
http
  .createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (chunks.length) JSON.parse(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.0', 'Content-Length': body.length });
      res.end(body);
    });
  })
  .listen(port, '127.0.0.1');
