import type { ScalarKeyType } from './attribute-value.js';

export type KeyType = 'HASH' | 'RANGE';

export interface KeySchemaElement {
  AttributeName: string;
  KeyType: KeyType;
}

export interface AttributeDefinition {
  AttributeName: string;
  AttributeType: ScalarKeyType;
}

export interface KeyAttribute {
  name: string;
  type: ScalarKeyType;
}

export interface KeyAttributes {
  hash: KeyAttribute;
  range?: KeyAttribute;
}

/**
 * The key attributes of a table (or index) with their types. The schema is expected to
 * have been validated by CreateTable, so an inconsistency here is an internal error.
 */
export function keyAttributes(
  keySchema: readonly KeySchemaElement[],
  attributeDefinitions: readonly AttributeDefinition[],
): KeyAttributes {
  const resolve = (keyType: KeyType): KeyAttribute | undefined => {
    const element = keySchema.find((e) => e.KeyType === keyType);
    if (!element) return undefined;
    const name = element.AttributeName;
    const definition = attributeDefinitions.find((d) => d.AttributeName === name);
    if (!definition) throw new Error(`key attribute ${name} has no attribute definition`);
    return { name, type: definition.AttributeType };
  };
  const hash = resolve('HASH');
  if (!hash) throw new Error('key schema has no HASH element');
  const range = resolve('RANGE');
  return range ? { hash, range } : { hash };
}
