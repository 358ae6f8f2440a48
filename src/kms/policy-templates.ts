/** The key policies KMS writes itself: CreateKey's default and the AWS managed `aws/dynamodb` key's. */

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** GetKeyPolicy shows the policies KMS wrote in Jackson's pretty-print layout (`"Key" : value`, `[ {`). */
export function jacksonPretty(value: Json, indent = ''): string {
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[ ]';
    return `[ ${value.map((v, i) => (i === 0 ? '' : ', ') + jacksonPretty(v, indent)).join('')} ]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return '{ }';
    const body = entries.map(([k, v]) => `${inner}${JSON.stringify(k)} : ${jacksonPretty(v, inner)}`).join(',\n');
    return `{\n${body}\n${indent}}`;
  }
  return JSON.stringify(value);
}

export function defaultKeyPolicy(accountId: string): string {
  return jacksonPretty({
    Version: '2012-10-17',
    Id: 'key-default-1',
    Statement: [
      {
        Sid: 'Enable IAM User Permissions',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${accountId}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
    ],
  });
}

/** dynamodb-sse.md §3.5: usable only through DynamoDB from the same account; metadata readable by the account. */
export function awsManagedDynamoDbPolicy(accountId: string, region: string): string {
  return jacksonPretty({
    Version: '2012-10-17',
    Id: 'auto-dynamodb-1',
    Statement: [
      {
        Sid: 'Allow access through Amazon DynamoDB for all principals in the account that are authorized to use Amazon DynamoDB',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: [
          'kms:Encrypt',
          'kms:Decrypt',
          'kms:ReEncrypt*',
          'kms:GenerateDataKey*',
          'kms:CreateGrant',
          'kms:DescribeKey',
        ],
        Resource: '*',
        Condition: {
          StringEquals: { 'kms:CallerAccount': accountId, 'kms:ViaService': `dynamodb.${region}.amazonaws.com` },
        },
      },
      {
        Sid: 'Allow direct access to key metadata to the account',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${accountId}:root` },
        Action: ['kms:Describe*', 'kms:Get*', 'kms:List*', 'kms:RevokeGrant'],
        Resource: '*',
      },
      {
        Sid: 'Allow DynamoDB Service with service principal name dynamodb.amazonaws.com to describe the key directly',
        Effect: 'Allow',
        Principal: { Service: 'dynamodb.amazonaws.com' },
        Action: ['kms:Describe*', 'kms:Get*', 'kms:List*'],
        Resource: '*',
      },
    ],
  });
}
