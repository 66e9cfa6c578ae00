// One subscriber's outbox: a bounded queue of results read by graphql-ws as an async iterator.
// A client that reads slower than events arrive never grows the gateway's memory: past
// `capacity` the oldest undelivered result is dropped (and counted), so the subscriber
// skips ahead to the newest events instead of falling further behind.
import type { ExecutionResult } from 'graphql';

export class SubscriberQueue implements AsyncIterableIterator<ExecutionResult> {
  #items: ExecutionResult[] = [];
  #waiting: ((r: IteratorResult<ExecutionResult>) => void) | undefined;
  #done = false;
  #capacity: number;
  #onDrop: () => void;
  #onEnd: () => void;

  /** `onEnd` runs once, when the consumer stops (return) or the producer ends the stream. */
  constructor(capacity: number, onDrop: () => void, onEnd: () => void) {
    this.#capacity = capacity;
    this.#onDrop = onDrop;
    this.#onEnd = onEnd;
  }

  get ended() {
    return this.#done;
  }

  /** Queues one result; false when the subscriber has gone. */
  push(result: ExecutionResult): boolean {
    if (this.#done) return false;
    if (this.#waiting) {
      const resolve = this.#waiting;
      this.#waiting = undefined;
      resolve({ value: result, done: false });
      return true;
    }
    if (this.#items.length >= this.#capacity) {
      this.#items.shift();
      this.#onDrop();
    }
    this.#items.push(result);
    return true;
  }

  /** Ends the stream after what is queued (a final error result may be pushed first). */
  end() {
    if (this.#done) return;
    this.#finish();
  }

  next(): Promise<IteratorResult<ExecutionResult>> {
    const item = this.#items.shift();
    if (item) return Promise.resolve({ value: item, done: false });
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.#waiting = resolve));
  }

  return(): Promise<IteratorResult<ExecutionResult>> {
    this.#items = [];
    this.#finish();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  #finish() {
    if (this.#done) return;
    this.#done = true;
    if (this.#waiting && this.#items.length === 0) {
      const resolve = this.#waiting;
      this.#waiting = undefined;
      resolve({ value: undefined, done: true });
    }
    this.#onEnd();
  }
}
