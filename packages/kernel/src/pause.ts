/** A loop's pause between rounds, which `wake()` ends early (new work arrived, or the loop is stopping). */
export class Pause {
  #wake: (() => void) | undefined;

  for(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  wake(): void {
    this.#wake?.();
  }
}
