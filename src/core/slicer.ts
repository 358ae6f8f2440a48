/**
 * Cuts long work on the event loop into slices: `pause()` yields to other requests once the
 * current slice has run for `sliceMs`, and returns at once before that (no cost for small work).
 */
export class Slicer {
  #since = performance.now();

  constructor(private readonly sliceMs = 1) {}

  async pause(): Promise<void> {
    if (performance.now() - this.#since < this.sliceMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.#since = performance.now();
  }
}
