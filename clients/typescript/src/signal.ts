/** Settles like `promise`, or rejects with the signal's reason once it aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => { signal.removeEventListener("abort", onAbort); resolve(value); },
      (error) => { signal.removeEventListener("abort", onAbort); reject(error); });
  });
}

/**
 * A buffer many async iterators read from their own position: each sees every item from the
 * first, then waits for more until the buffer ends (or fails, which each reader then throws).
 */
export class Replay<T> {
  readonly items: T[] = [];
  done = false;
  error: Error | undefined;
  private wake: (() => void)[] = [];

  push(item: T): void {
    this.items.push(item);
    this.notify();
  }

  end(error?: Error): void {
    if (this.done) return;
    this.done = true;
    this.error = error;
    this.notify();
  }

  async *read(signal?: AbortSignal): AsyncGenerator<T, void, undefined> {
    let i = 0;
    for (;;) {
      signal?.throwIfAborted();
      if (i < this.items.length) {
        yield this.items[i++]!;
        continue;
      }
      if (this.done) {
        if (this.error) throw this.error;
        return;
      }
      await abortable(new Promise<void>((resolve) => this.wake.push(resolve)), signal);
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = [];
    for (const w of wake) w();
  }
}
