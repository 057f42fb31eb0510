// One model, many callers (HTTP teach/ask, the prompt, merges from the overlay): every operation
// that reads or changes the weights runs alone, in arrival order.

export class Lock {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.then(() => undefined, () => undefined);
    return next;
  }
}
