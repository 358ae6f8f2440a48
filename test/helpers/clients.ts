/** SDK clients whose TCP connections the test controls. */
import { Agent } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { TestServer } from './server.js';

/** A client that keeps one keep-alive connection open for all its requests. */
export function keepAliveClient(
  server: TestServer,
  credentials?: { accessKeyId: string; secretAccessKey: string },
): DynamoDBClient {
  return new DynamoDBClient({
    ...server.clientConfig(credentials),
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: 1 }) }),
  });
}

/** A client that opens a new TCP connection for every request. */
export function newConnectionClient(server: TestServer): DynamoDBClient {
  return new DynamoDBClient({
    ...server.clientConfig(),
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: false, maxSockets: 1 }) }),
  });
}
