import { CreateKeyCommand, type KMSClient } from '@aws-sdk/client-kms';

/** A new customer managed key with the default policy. */
export async function createKey(kms: KMSClient): Promise<{ id: string; arn: string }> {
  const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
  return { id: KeyMetadata?.KeyId as string, arn: KeyMetadata?.Arn as string };
}
