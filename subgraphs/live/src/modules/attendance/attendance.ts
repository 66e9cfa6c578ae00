// Attendance arithmetic: a participant's intervals merged (two subscriptions at once count
// once) and clipped to the session's LIVE span, in whole seconds, and the share of that span.
export interface Interval {
  joinedAt: Date;
  leftAt: Date | null;
}

/** Seconds covered by `intervals` within [from, to] (open intervals run to `to`), overlaps counted once. */
export function attendedSeconds(intervals: readonly Interval[], from: Date, to: Date): number {
  const spans = intervals
    .map((i) => [Math.max(i.joinedAt.getTime(), from.getTime()), Math.min((i.leftAt ?? to).getTime(), to.getTime())] as const)
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let total = 0;
  let start = -Infinity;
  let end = -Infinity;
  for (const [a, b] of spans) {
    if (a > end) {
      if (end > start) total += end - start;
      start = a;
      end = b;
    } else if (b > end) end = b;
  }
  if (end > start) total += end - start;
  return Math.floor(total / 1000);
}

/** `attended` over the session's length in seconds, 0..100, rounded down. */
export function percentOf(attended: number, durationSeconds: number): number {
  if (durationSeconds <= 0) return 0;
  return Math.max(0, Math.min(100, Math.floor((attended * 100) / durationSeconds)));
}
