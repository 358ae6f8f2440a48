/**
 * KMS for exported files, as S3 uses it for SSE-KMS objects: one GenerateDataKey per file, with
 * the encryption context `{"aws:s3:arn": "arn:aws:s3:::<bucket>/<key>"}`, made for the caller
 * via S3 (kms:ViaService s3.<region>.amazonaws.com). Every call goes through the same KMS (and
 * audit trail) as the table keys' calls.
 */
import { randomUUID } from 'node:crypto';
import type { KeyCaller } from '../../encryption/table-keys.js';
import type { TableKms, TableKmsCaller } from '../../encryption/table-kms.js';
import { type EnvelopeHeader, envelopeHeader, open, seal } from './envelope.js';

export const s3ObjectArn = (bucket: string, key: string): string => `arn:aws:s3:::${bucket}/${key}`;

export class KmsSealer {
  constructor(private readonly kms: TableKms) {}

  /** Seals one object; returns the sealed bytes and the key's ARN as KMS reports it. */
  async seal(
    plaintext: Buffer,
    keyId: string,
    bucket: string,
    key: string,
    caller: KeyCaller,
    region: string,
  ): Promise<{ sealed: Buffer; keyArn: string }> {
    const encryptionContext = { 'aws:s3:arn': s3ObjectArn(bucket, key) };
    const out = await this.kms.call(
      'GenerateDataKey',
      { KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: encryptionContext },
      viaS3(caller, region),
    );
    const dataKey = Buffer.from(out.Plaintext as Uint8Array);
    try {
      const keyArn = String(out.KeyId);
      const sealed = seal(plaintext, dataKey, {
        keyId: keyArn,
        encryptionContext,
        encryptedDataKey: Buffer.from(out.CiphertextBlob as Uint8Array).toString('base64'),
      });
      return { sealed, keyArn };
    } finally {
      dataKey.fill(0);
      (out.Plaintext as Buffer).fill?.(0);
    }
  }

  /** Opens a sealed object (ImportTable of a sealed export): one KMS Decrypt as the caller. */
  async open(data: Buffer, caller: KeyCaller, region: string): Promise<Buffer> {
    const { header } = envelopeHeader(data);
    const dataKey = await this.#dataKey(header, caller, region);
    try {
      return open(data, dataKey);
    } finally {
      dataKey.fill(0);
    }
  }

  async #dataKey(header: EnvelopeHeader, caller: KeyCaller, region: string): Promise<Buffer> {
    const out = await this.kms.call(
      'Decrypt',
      {
        CiphertextBlob: Buffer.from(header.encryptedDataKey, 'base64'),
        KeyId: header.keyId,
        EncryptionContext: header.encryptionContext,
      },
      viaS3(caller, region),
    );
    return Buffer.from(out.Plaintext as Uint8Array);
  }
}

function viaS3(caller: KeyCaller, region: string): TableKmsCaller {
  return {
    principal: caller.principal,
    region,
    viaService: `s3.${region}.amazonaws.com`,
    invokedBy: 's3.amazonaws.com',
    sourceIp: caller.sourceIp,
    userAgent: caller.userAgent,
    requestId: randomUUID(),
  };
}
