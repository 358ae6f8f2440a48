/**
 * Turns this node's units of work take, one unit at a time per name, before their transaction
 * begins. Units appending to one record log (a table's stream or PITR log) all read and move its
 * head row (pg-table-store.ts), so under SERIALIZABLE every two of them in flight at once
 * conflict and one runs again from the start: with 24 clients on one node, a write to a table
 * with a stream cost 7× the CPU of one without and ran at a fifth of the rate (bench/results/
 * cluster-streams.md). Taking the log's turn first makes this node's appends follow one another
 * instead, so only units of different nodes still meet in the engine. A turn is taken before the
 * unit holds a pooled connection, so units waiting for one never starve the pool.
 */
export class NodeTurns {
  /** Per name, the end of the queue: resolves when the last unit that asked has let go. */
  readonly #tails = new Map<string, Promise<void>>();

  /** Waits for each name's turn, in name order (two units never wait on each other in a cycle). */
  async take(names: Iterable<string>): Promise<() => void> {
    const releases: (() => void)[] = [];
    for (const name of [...names].sort()) releases.push(await this.#takeOne(name));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const release of releases) release();
    };
  }

  async #takeOne(name: string): Promise<() => void> {
    const before = this.#tails.get(name) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = before.then(() => mine);
    this.#tails.set(name, tail);
    await before;
    return () => {
      release();
      // The last in the queue leaves no entry behind.
      if (this.#tails.get(name) === tail) this.#tails.delete(name);
    };
  }
}
