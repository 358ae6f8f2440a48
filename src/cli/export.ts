/**
 * `sealdb export open <file>`: decrypts a file that an export with `S3SseAlgorithm: KMS` sealed
 * (src/dynamodb/exports/envelope.ts), with one KMS Decrypt on the running server (SigV4-signed, as
 * `sealdb backup` calls it), so the call is checked against the key's policy and audited.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { envelopeHeader, open } from '../dynamodb/exports/envelope.js';
import { callSignedJson, RemoteError } from '../http/sigv4-client.js';
import { type ApiFlags, withApiOptions } from './api-options.js';

export interface OpenFlags extends ApiFlags {
  out?: string;
}

/** The opened bytes (what the export would have written without KMS). */
export async function openSealedFile(file: string, flags: OpenFlags): Promise<Buffer> {
  const data = readFileSync(file);
  const { header } = envelopeHeader(data);
  let answer: Record<string, unknown>;
  try {
    answer = await callSignedJson(
      {
        endpoint: flags.endpointUrl,
        region: flags.region,
        credentials: { accessKeyId: flags.accessKeyId, secretAccessKey: flags.secretAccessKey },
        service: 'kms',
        contentType: 'application/x-amz-json-1.1',
        target: 'TrentService.Decrypt',
      },
      { CiphertextBlob: header.encryptedDataKey, KeyId: header.keyId, EncryptionContext: header.encryptionContext },
    );
  } catch (error) {
    if (error instanceof RemoteError) throw new Error(`KMS Decrypt failed: ${error.code}: ${error.detail}`);
    throw error;
  }
  const dataKey = Buffer.from(String(answer.Plaintext), 'base64');
  try {
    return open(data, dataKey);
  } finally {
    dataKey.fill(0);
  }
}

export function registerExportCommands(program: Command): void {
  const exportCommand = program.command('export').description('files of ExportTableToPointInTime');
  withApiOptions(
    exportCommand
      .command('open <file>')
      .description('decrypt a file an export sealed under a KMS key (S3SseAlgorithm KMS); writes it to --out or stdout')
      .option('--out <file>', 'where to write the opened file (default: stdout)'),
  ).action(async (file: string, flags: OpenFlags) => {
    const opened = await openSealedFile(file, flags);
    if (flags.out) {
      // Only a file that authenticated whole is written, under its name at once.
      writeFileSync(`${flags.out}.partial`, opened, { mode: 0o600 });
      renameSync(`${flags.out}.partial`, flags.out);
    } else process.stdout.write(opened);
  });
}
