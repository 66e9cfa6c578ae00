// Item and quiz statistics for teachers (classical test theory): is a question too easy or too
// hard (facility), does it separate strong from weak attempts (discrimination, point-biserial),
// which distractors draw answers (option counts). Pure: the service feeds it rows it has read.
export interface ItemResponse {
  attemptId: string;
  /** The attempt's total, 0..1. */
  attemptFraction: number;
  /** 0..1. */
  itemFraction: number;
  /** For choice types; TRUE_FALSE uses ['true'] / ['false']. */
  choiceIds?: string[] | null;
}

export interface ItemStatistics {
  attempts: number;
  facility: number | null;
  discrimination: number | null;
  pointBiserial: number | null;
  optionCounts: { optionId: string; count: number }[];
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Pearson correlation; null when either side has no variance (or fewer than 2 values). */
export function pearson(xs: readonly number[], ys: readonly number[]): number | null {
  const n = xs.length;
  if (n < 2 || ys.length !== n) return null;
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] as number) - mx;
    const dy = (ys[i] as number) - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  // Variances this small are float noise around a constant column.
  if (sxx < 1e-12 || syy < 1e-12) return null;
  return sxy / Math.sqrt(sxx * syy);
}

/**
 * facility = mean itemFraction; discrimination = mean itemFraction of the upper 27 % of attempts
 * by attemptFraction minus that of the lower 27 % (group size max(1, round(0.27 n)); null when
 * n < 2); pointBiserial = Pearson correlation of itemFraction with attemptFraction (null when
 * either variance is 0 or n < 2); optionCounts: one entry per id of `optionIds`, in that order.
 */
export function itemStatistics(responses: ItemResponse[], optionIds: string[]): ItemStatistics {
  const n = responses.length;
  const counts = new Map(optionIds.map((id) => [id, 0]));
  for (const r of responses) {
    // A learner's own duplicates would count twice; a Set counts each attempt once per option.
    for (const id of new Set(r.choiceIds ?? [])) {
      const c = counts.get(id);
      if (c !== undefined) counts.set(id, c + 1);
    }
  }
  const optionCounts = optionIds.map((optionId) => ({ optionId, count: counts.get(optionId) ?? 0 }));
  if (n === 0) return { attempts: 0, facility: null, discrimination: null, pointBiserial: null, optionCounts };

  const items = responses.map((r) => r.itemFraction);
  let discrimination: number | null = null;
  if (n >= 2) {
    // Ties on the attempt total are broken by attempt id so the groups do not depend on row order.
    const sorted = [...responses].sort(
      (a, b) => a.attemptFraction - b.attemptFraction || (a.attemptId < b.attemptId ? -1 : a.attemptId > b.attemptId ? 1 : 0),
    );
    const g = Math.max(1, Math.round(0.27 * n));
    const lower = sorted.slice(0, g).map((r) => r.itemFraction);
    const upper = sorted.slice(n - g).map((r) => r.itemFraction);
    discrimination = mean(upper) - mean(lower);
  }
  return {
    attempts: n,
    facility: mean(items),
    discrimination,
    pointBiserial: pearson(
      items,
      responses.map((r) => r.attemptFraction),
    ),
    optionCounts,
  };
}

export interface QuizStatistics {
  attempts: number;
  mean: number | null;
  median: number | null;
  distribution: { from: number; to: number; count: number }[];
}

/** Over attempt fractions: mean, median, and 10 buckets [0,0.1), [0.1,0.2) … [0.9,1.0] (1.0 in the last). */
export function quizStatistics(fractions: number[]): QuizStatistics {
  const distribution = Array.from({ length: 10 }, (_, i) => ({ from: i / 10, to: (i + 1) / 10, count: 0 }));
  for (const f of fractions) {
    // The epsilon keeps 0.3 computed as 0.29999999999999993 out of the bucket below.
    const i = Math.min(9, Math.max(0, Math.floor(f * 10 + 1e-9)));
    (distribution[i] as { count: number }).count++;
  }
  if (fractions.length === 0) return { attempts: 0, mean: null, median: null, distribution };
  const sorted = [...fractions].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { attempts: fractions.length, mean: mean(fractions), median, distribution };
}
