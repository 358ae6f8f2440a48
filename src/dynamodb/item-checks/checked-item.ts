/**
 * An item whose values and size are checked (item-validation.ts), as a write stores it: its JSON
 * body (the normalized item's JSON.stringify) and DynamoDB's size of it.
 *
 * Checked on this thread, the item itself is at hand. Checked in the JSON worker (large bodies,
 * issue 12 item 11), only its body is: a 390 KB item of 14k attributes is some 40k objects, and
 * 25 of them built and held on the main thread cost V8 scavenges of 10–100 ms. A write needs of
 * the item only its key attributes (and an index's), which `pick` reads out of the body without
 * building the rest; index and stream derivers parse a body they are given no item for.
 */

import { BACKSLASH, CLOSE_ARRAY, CLOSE_OBJECT, COMMA, OPEN_ARRAY, OPEN_OBJECT, QUOTE } from '../../core/json-bytes.js';
import { setOwnEntry } from '../../validation/own-entry.js';
import type { AttributeValue, Item } from '../attribute-value.js';

export class CheckedItem {
  #body: Buffer | undefined;

  private constructor(
    readonly item: Item | undefined,
    body: Buffer | undefined,
    /** DynamoDB's size of the item (itemSize). */
    readonly size: number,
  ) {
    this.#body = body;
  }

  /** An item validated on this thread (validateAttributeMap's result). */
  static of(item: Item, size: number): CheckedItem {
    return new CheckedItem(item, undefined, size);
  }

  /** An item validated elsewhere: the JSON.stringify of validateAttributeMap's result, as bytes. */
  static ofBody(body: Buffer, size: number): CheckedItem {
    return new CheckedItem(undefined, body, size);
  }

  /** The stored body: the normalized item's JSON text. */
  get body(): Buffer {
    this.#body ??= Buffer.from(JSON.stringify(this.item), 'utf8');
    return this.#body;
  }

  /** The item's top-level attributes of these names (those it has), the rest left unbuilt. */
  pick(names: readonly string[]): Item {
    if (this.item) return this.item;
    return topLevelAttributes(this.body, names);
  }
}

/**
 * Reads the named members of a JSON object written by JSON.stringify (no whitespace; each key
 * exactly as JSON.stringify writes that name, so keys compare as bytes), skipping all others.
 */
export function topLevelAttributes(body: Buffer, names: readonly string[]): Item {
  const out: Item = {};
  const keys = [...new Set(names)].map((name) => ({ name, bytes: Buffer.from(JSON.stringify(name), 'utf8') }));
  let left = keys.length;
  let i = 1; // past the opening brace
  if (left === 0 || body[i] === CLOSE_OBJECT) return out;
  for (;;) {
    const keyStart = i;
    i = skipString(body, i);
    const keyLength = i - keyStart;
    const valueStart = ++i; // past the colon
    i = skipValue(body, i);
    for (const key of keys) {
      if (
        key.bytes.length !== keyLength ||
        body.compare(key.bytes, 0, keyLength, keyStart, keyStart + keyLength) !== 0
      ) {
        continue;
      }
      setOwnEntry(out, key.name, JSON.parse(body.toString('utf8', valueStart, i)) as AttributeValue);
      left--;
      break;
    }
    if (left === 0 || body[i] !== COMMA) return out;
    i++;
  }
}

/** From an opening quote to just past its closing one. */
function skipString(body: Buffer, at: number): number {
  let i = at + 1;
  for (;;) {
    const c = body[i];
    if (c === QUOTE) return i + 1;
    i += c === BACKSLASH ? 2 : 1;
  }
}

/** From a value's first byte to just past its last. */
function skipValue(body: Buffer, at: number): number {
  let i = at;
  const first = body[i];
  if (first === QUOTE) return skipString(body, i);
  if (first !== OPEN_OBJECT && first !== OPEN_ARRAY) {
    while (i < body.length && body[i] !== COMMA && body[i] !== CLOSE_OBJECT && body[i] !== CLOSE_ARRAY) i++;
    return i;
  }
  let depth = 0;
  for (;;) {
    const c = body[i];
    if (c === QUOTE) {
      i = skipString(body, i);
      continue;
    }
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) depth++;
    else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      if (--depth === 0) return i + 1;
    }
    i++;
  }
}
