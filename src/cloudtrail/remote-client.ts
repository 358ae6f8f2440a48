/**
 * A minimal CloudTrail JSON 1.1 client for the CLI's `--endpoint` mode, so the command needs no
 * AWS SDK at run time (signed by the shared client in http/sigv4-client.ts).
 */
import { callSignedJson, type RemoteCredentials } from '../http/sigv4-client.js';

export { type RemoteCredentials, RemoteError } from '../http/sigv4-client.js';

export const CLOUDTRAIL_TARGET_PREFIX = 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101';

export interface RemoteOptions {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: RemoteCredentials;
}

export function callCloudTrail(
  options: RemoteOptions,
  operation: string,
  input: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  return callSignedJson(
    {
      ...options,
      service: 'cloudtrail',
      contentType: 'application/x-amz-json-1.1',
      target: `${CLOUDTRAIL_TARGET_PREFIX}.${operation}`,
    },
    input,
  );
}
