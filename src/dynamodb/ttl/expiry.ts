/**
 * Which items Time to Live expires, by the rules of the developer guide ("Using DynamoDB Time to
 * Live", Formatting an item's TTL attribute): the TTL attribute must be a top-level Number holding
 * Unix epoch seconds, the item is expired once that time is before now ("If the epoch time value
 * stored in the attribute is less than the current time, the item is marked as expired",
 * API_UpdateTimeToLive), and a value more than five years in the past is ignored ("must be a
 * datetimestamp with an expiration of no more than five years in the past"). Anything else
 * (missing, a String, a Set, a nested attribute) leaves the item alone.
 */
import type { Item } from '../attribute-value.js';

const IGNORED_AFTER_YEARS = 5;

/** The earliest expiry time (epoch ms) TTL still acts on at `now`: five calendar years back. */
export function oldestExpiryMs(now: number): number {
  const date = new Date(now);
  date.setUTCFullYear(date.getUTCFullYear() - IGNORED_AFTER_YEARS);
  return date.getTime();
}

/** The item's expiry time in epoch ms, or undefined when its TTL attribute is not a Number. */
export function expiryTimeMs(item: Item, attribute: string): number | undefined {
  const value = item[attribute] as { readonly N?: unknown } | undefined;
  if (value === undefined || typeof value.N !== 'string') return undefined;
  const seconds = Number(value.N);
  return Number.isFinite(seconds) ? seconds * 1000 : undefined;
}

/** True when TTL deletes this item at `now` (epoch ms). */
export function isExpired(item: Item, attribute: string, now: number): boolean {
  const expiry = expiryTimeMs(item, attribute);
  return expiry !== undefined && expiry < now && expiry >= oldestExpiryMs(now);
}
