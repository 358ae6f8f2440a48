/**
 * KMS errors with AWS's messages (dynamodb-sse.md §5). KMS answers bare `__type`s and, as observed,
 * HTTP 400 even where the Smithy model declares 404/409/412.
 */
import { AwsError } from '../http/aws-error.js';

const kms = (code: string, message: string) => new AwsError(code, message, 400);

export const notFoundKey = (keyArn: string) => kms('NotFoundException', `Key '${keyArn}' does not exist`);
export const invalidKeyId = (keyId: string) => kms('NotFoundException', `Invalid keyId '${keyId}'`);
export const invalidArnRegion = (region: string) => kms('NotFoundException', `Invalid arn ${region}`);
export const aliasNotFound = (aliasArn: string) => kms('NotFoundException', `Alias ${aliasArn} is not found.`);
export const policyNotFound = () => kms('NotFoundException', 'No such policy exists');

export const disabled = (keyArn: string) => kms('DisabledException', `${keyArn} is disabled.`);
export const pendingDeletion = (keyArn: string) => kms('KMSInvalidStateException', `${keyArn} is pending deletion.`);
export const notPendingDeletion = (keyArn: string) =>
  kms('KMSInvalidStateException', `${keyArn} is not pending deletion.`);

/** KMS sends this one without a message member. */
export const invalidCiphertext = () => new AwsError('InvalidCiphertextException', '', 400);
export const incorrectKey = () =>
  kms('IncorrectKeyException', 'The key ID in the request does not identify a CMK that can perform this operation.');

export const accessDenied = (principalArn: string, action: string, resourceArn: string, explicit: boolean) =>
  kms(
    'AccessDeniedException',
    `User: ${principalArn} is not authorized to perform: ${action} on resource: ${resourceArn} ` +
      (explicit
        ? 'with an explicit deny in a resource-based policy'
        : `because no resource-based policy allows the ${action} action`),
  );
export const ciphertextKeyInaccessible = () =>
  kms(
    'AccessDeniedException',
    'The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.',
  );

export const dryRun = () =>
  kms('DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.');

export const validation = (message: string) => kms('ValidationException', message);
export const notNull = (member: string) =>
  validation(
    `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`,
  );

export const aliasPrefixRequired = () =>
  validation(
    'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html',
  );
/** Observed without a message for names under `alias/aws/`. */
export const reservedAlias = () => new AwsError('NotAuthorizedException', '', 400);
export const aliasExists = (aliasArn: string) =>
  kms('AlreadyExistsException', `An alias with the name ${aliasArn} already exists`);
export const aliasMustReferToKey = () => validation('Aliases must refer to keys. Not aliases');

export const malformedPolicy = (message: string) => kms('MalformedPolicyDocumentException', message);
export const policyLockout = () =>
  malformedPolicy('The new key policy will not allow you to update the key policy in the future.');

export const unsupported = (message: string) => kms('UnsupportedOperationException', message);
export const invalidKeyUsage = (message: string) => kms('InvalidKeyUsageException', message);
export const tagException = (message: string) => kms('TagException', message);
export const limitExceeded = (message: string) => kms('LimitExceededException', message);
export const invalidMarker = () => kms('InvalidMarkerException', 'The marker is invalid.');

export const invalidGrantToken = () => kms('InvalidGrantTokenException', 'The grant token is invalid.');
export const invalidGrantId = () => new AwsError('InvalidGrantIdException', '', 400);

export const internalError = () => new AwsError('KMSInternalException', 'The request could not be processed.', 500);
