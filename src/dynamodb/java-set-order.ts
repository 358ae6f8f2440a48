/**
 * The order in which a Java `HashSet<String>` lists its members, for DynamoDB messages that print
 * one (`Keys: [...]`, `keys used: [...]`).
 *
 * DynamoDB's recorded messages list those names neither in request order nor sorted: `Keys: [c, d]`
 * and, recorded in 2013, `Keys: [d, c], AttributeDefinitions: [b, a]` for keys c, d and definitions
 * a, b (architect/dynalite test/createTable.js; the old order is Java 7's HashMap hash, the current
 * one Java 8's), `keys used: [a, sk, pk]` (ack-api-quirks DDB-TABLE-127) and `keys used: [my-hash,
 * my-string]` (a CloudFormation error quoted in the public corpus). Java 8's HashSet gives each of
 * them: buckets by `(h ^ h >>> 16) & (capacity - 1)` over String.hashCode, a 16-bucket table doubled
 * whenever the set holds more than three quarters of it, members of one bucket in insertion order.
 */
export function javaHashSetOrder(names: readonly string[]): string[] {
  const unique = [...new Set(names)];
  let capacity = 16;
  while (unique.length > capacity * 0.75) capacity *= 2;
  const bucket = (name: string): number => {
    let h = 0;
    for (let i = 0; i < name.length; i++) h = (Math.imul(31, h) + name.charCodeAt(i)) | 0;
    return (h ^ (h >>> 16)) & (capacity - 1);
  };
  return unique
    .map((name, position) => ({ name, position, bucket: bucket(name) }))
    .sort((a, b) => a.bucket - b.bucket || a.position - b.position)
    .map((entry) => entry.name);
}

/** `[a, b]` as Java's `AbstractCollection.toString` writes it. */
export const javaList = (names: readonly string[]): string => `[${names.join(', ')}]`;
