import { validationError } from '../errors.js';
import { transfersOf } from '../exports/environment.js';
import type { InputFormat } from '../exports/formats.js';
import { importDescription } from '../exports/records.js';
import type { Operation } from '../operation.js';
import type { SseSpecification } from '../sse.js';
import type { BillingMode } from '../table-definition.js';
import { resolveTableName } from '../table-name.js';
import type { AttributeDefinition, KeySchemaElement } from '../table-schema.js';
import { type CreateTableInput, newTableOf } from './create-table.js';

export interface ImportTableInput {
  ClientToken?: string;
  S3BucketSource: { S3Bucket: string; S3BucketOwner?: string; S3KeyPrefix?: string };
  InputFormat: InputFormat;
  InputFormatOptions?: { Csv?: { Delimiter?: string; HeaderList?: string[] } };
  InputCompressionType?: 'GZIP' | 'ZSTD' | 'NONE';
  TableCreationParameters: {
    TableName: string;
    AttributeDefinitions: AttributeDefinition[];
    KeySchema: KeySchemaElement[];
    BillingMode?: BillingMode;
    ProvisionedThroughput?: { ReadCapacityUnits: number; WriteCapacityUnits: number };
    OnDemandThroughput?: Record<string, unknown>;
    SSESpecification?: SseSpecification;
    GlobalSecondaryIndexes?: CreateTableInput['GlobalSecondaryIndexes'];
    VectorIndexes?: unknown[];
  };
}

export const importTable: Operation<ImportTableInput> = {
  name: 'ImportTable',
  async execute({ input, ctx, env }) {
    const transfers = transfersOf(env);
    const parameters = input.TableCreationParameters;
    const name = resolveTableName(parameters.TableName, ctx);
    // CsvOptions with another format: refused, naming InputFormatOptions (scylladb test_import.py, on AWS). [I] text
    if (input.InputFormatOptions?.Csv && input.InputFormat !== 'CSV') {
      throw validationError('InputFormatOptions: CSV options may only be given with InputFormat CSV');
    }
    if (parameters.VectorIndexes) throw validationError('sealdb does not support VectorIndexes'); // [I]
    const { table, choice } = newTableOf(
      {
        TableName: name,
        AttributeDefinitions: parameters.AttributeDefinitions,
        KeySchema: parameters.KeySchema,
        ...(parameters.BillingMode ? { BillingMode: parameters.BillingMode } : {}),
        ...(parameters.ProvisionedThroughput ? { ProvisionedThroughput: parameters.ProvisionedThroughput } : {}),
        ...(parameters.SSESpecification ? { SSESpecification: parameters.SSESpecification } : {}),
        ...(parameters.GlobalSecondaryIndexes ? { GlobalSecondaryIndexes: parameters.GlobalSecondaryIndexes } : {}),
      },
      name,
      env.clock.now() / 1000,
    );
    const record = await transfers.startImport(
      env.tables,
      ctx.principal.accountId,
      {
        ...(input.ClientToken !== undefined ? { clientToken: input.ClientToken } : {}),
        source: input.S3BucketSource,
        format: input.InputFormat,
        ...(input.InputFormatOptions ? { formatOptions: input.InputFormatOptions } : {}),
        // Absent means NONE (scylladb test_import.py, measured on AWS).
        compression: input.InputCompressionType ?? 'NONE',
        creationParameters: parameters as unknown as Record<string, unknown>,
        table,
        choice,
      },
      ctx,
    );
    return { ImportTableDescription: importDescription(record) };
  },
};
