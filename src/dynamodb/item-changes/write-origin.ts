/**
 * Who makes the item writes in progress: a client request, or DynamoDB itself (TTL expiry, whose
 * stream records carry a service identity). Writes are synchronous, so the origin set around a
 * synchronous call is exactly that of every write made inside it.
 */
export type WriteOrigin = { readonly kind: 'request' } | { readonly kind: 'ttl' };

const REQUEST: WriteOrigin = { kind: 'request' };
let current: WriteOrigin = REQUEST;

export function writingAs<T>(origin: WriteOrigin, fn: () => T): T {
  const saved = current;
  current = origin;
  try {
    return fn();
  } finally {
    current = saved;
  }
}

export const writeOrigin = (): WriteOrigin => current;
