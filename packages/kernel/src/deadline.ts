// A bounded wait: `fn`'s result, or a rejection with `message` once `ms` have passed (the timer
// cleared either way). The one way the kernel and subgraphs stop waiting on something that may
// hang: Redis taking a job or a relay batch, a readiness check, a rate-limit bucket.
export async function within<T>(ms: number, fn: () => Promise<T>, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
