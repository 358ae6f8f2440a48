/** Marker pagination for the List operations: the marker is the (opaque) sort key of the last item returned. */
import { invalidMarker } from './errors.js';

export interface Page<T> {
  readonly items: T[];
  readonly nextMarker?: string;
}

export interface PageLimits {
  readonly defaultLimit: number;
  readonly maxLimit: number;
}

/** `items` must be sorted by `sortKey` (string order). Limits above the operation's maximum are clamped, as KMS does. */
export function paginate<T>(
  items: readonly T[],
  sortKey: (item: T) => string,
  limits: PageLimits,
  limit: number | undefined,
  marker: string | undefined,
): Page<T> {
  let start = 0;
  if (marker !== undefined) {
    const after = decodeMarker(marker);
    start = items.findIndex((item) => sortKey(item) > after);
    if (start < 0) start = items.length;
  }
  const size = Math.min(limit ?? limits.defaultLimit, limits.maxLimit);
  const page = items.slice(start, start + size);
  const last = page[page.length - 1];
  return start + size < items.length && last !== undefined
    ? { items: page, nextMarker: Buffer.from(sortKey(last), 'utf8').toString('base64url') }
    : { items: page };
}

function decodeMarker(marker: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(marker)) throw invalidMarker();
  return Buffer.from(marker, 'base64url').toString('utf8');
}

/** The `NextMarker`/`Truncated` members of a List response. */
export const pageMembers = <T>(page: Page<T>): { NextMarker?: string; Truncated: boolean } =>
  page.nextMarker !== undefined ? { NextMarker: page.nextMarker, Truncated: true } : { Truncated: false };
