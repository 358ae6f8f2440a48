/**
 * The options of CLI commands that call a running server's API (SigV4-signed, as the AWS CLI
 * does): where it is and whose credentials sign, with the AWS CLI's environment variables as defaults.
 */
import type { Command } from 'commander';

export interface ApiFlags {
  endpointUrl: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export function withApiOptions(command: Command): Command {
  return command
    .option(
      '--endpoint-url <url>',
      'the server (default env AWS_ENDPOINT_URL, else http://127.0.0.1:8000)',
      process.env.AWS_ENDPOINT_URL || 'http://127.0.0.1:8000',
    )
    .option(
      '--region <region>',
      'region (default env AWS_REGION, else us-east-1)',
      process.env.AWS_REGION || 'us-east-1',
    )
    .option('--access-key-id <id>', 'default env AWS_ACCESS_KEY_ID', process.env.AWS_ACCESS_KEY_ID || 'AKIDLOCAL')
    .option(
      '--secret-access-key <secret>',
      'default env AWS_SECRET_ACCESS_KEY',
      process.env.AWS_SECRET_ACCESS_KEY || 'local-secret',
    );
}
