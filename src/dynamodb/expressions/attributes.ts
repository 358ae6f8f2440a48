/**
 * ExpressionAttributeNames and ExpressionAttributeValues: validated up front as DynamoDB does,
 * then resolved placeholder by placeholder while expressions are checked, remembering which
 * were used so that leftovers can be reported once every expression of the request is read.
 */

import { AwsError } from '../../http/aws-error.js';
import type { AttributeValue } from '../attribute-value.js';
import { validationError } from '../errors.js';
import { validateAttributeValue } from '../item-validation.js';

const NAME_KEY = /^#[0-9A-Za-z_]+$/;
const VALUE_KEY = /^:[0-9A-Za-z_]+$/;

export class ExpressionAttributes {
  readonly #names: ReadonlyMap<string, string>;
  readonly #values: ReadonlyMap<string, AttributeValue>;
  readonly #unusedNames: Set<string>;
  readonly #unusedValues: Set<string>;

  private constructor(names: Map<string, string>, values: Map<string, AttributeValue>) {
    this.#names = names;
    this.#values = values;
    this.#unusedNames = new Set(names.keys());
    this.#unusedValues = new Set(values.keys());
  }

  /** Validates both maps (absent is fine) in DynamoDB's order and with its messages. */
  static of(
    names: Readonly<Record<string, string>> | undefined,
    values: Readonly<Record<string, unknown>> | undefined,
  ) {
    const nameMap = new Map<string, string>();
    if (names !== undefined) {
      const entries = Object.entries(names);
      if (entries.length === 0) throw validationError('ExpressionAttributeNames must not be empty');
      for (const [key, name] of entries) {
        if (!NAME_KEY.test(key))
          throw validationError(`ExpressionAttributeNames contains invalid key: Syntax error; key: "${key}"`);
        // DynamoDB's text, as applications quote it (e.g. "... Empty attribute name for key #DE").
        if (name === '')
          throw validationError(`ExpressionAttributeNames contains invalid value: Empty attribute name for key ${key}`);
        nameMap.set(key, name);
      }
    }
    const valueMap = new Map<string, AttributeValue>();
    if (values !== undefined) {
      const entries = Object.entries(values);
      if (entries.length === 0) throw validationError('ExpressionAttributeValues must not be empty');
      for (const [key] of entries) {
        if (!VALUE_KEY.test(key))
          throw validationError(`ExpressionAttributeValues contains invalid key: Syntax error; key: "${key}"`);
      }
      for (const [key, raw] of entries) valueMap.set(key, validateValue(key, raw));
    }
    return new ExpressionAttributes(nameMap, valueMap);
  }

  /** The attribute name behind `#placeholder`, or undefined when the request does not define it. */
  name(placeholder: string): string | undefined {
    const name = this.#names.get(placeholder);
    if (name !== undefined) this.#unusedNames.delete(placeholder);
    return name;
  }

  /** The (validated, normalized) value behind `:placeholder`, or undefined when not defined. */
  value(placeholder: string): AttributeValue | undefined {
    const value = this.#values.get(placeholder);
    if (value !== undefined) this.#unusedValues.delete(placeholder);
    return value;
  }

  /** DynamoDB refuses placeholders no expression used: names are reported before values. */
  assertAllUsed(): void {
    if (this.#unusedNames.size > 0) {
      throw validationError(
        `Value provided in ExpressionAttributeNames unused in expressions: keys: {${[...this.#unusedNames].join(', ')}}`,
      );
    }
    if (this.#unusedValues.size > 0) {
      throw validationError(
        `Value provided in ExpressionAttributeValues unused in expressions: keys: {${[...this.#unusedValues].join(', ')}}`,
      );
    }
  }
}

function validateValue(key: string, raw: unknown): AttributeValue {
  try {
    return validateAttributeValue(raw);
  } catch (error) {
    // Deserialization errors keep their own type and text; semantic ones name the placeholder.
    if (error instanceof AwsError && error.code === 'ValidationException') {
      throw validationError(`ExpressionAttributeValues contains invalid value: ${error.message} for key ${key}`);
    }
    throw error;
  }
}
