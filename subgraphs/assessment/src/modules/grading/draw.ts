// The questions of one attempt, derived from the attempt's seed: fixed questions plus random
// draws from pools, reproducible so the server can store only the seed (and still re-derive the
// same paper after a key edit or a restart).
import { rngFrom, sample, shuffle } from './random.ts';

export interface DrawPool {
  position: number;
  count: number;
  /** Question ids, any order. */
  candidates: string[];
}
export interface FixedQuestion {
  position: number;
  questionId: string;
}

/**
 * Fixed questions and random draws, in quiz order (by position; a draw's questions take its
 * position in drawn order), no question twice (a draw skips questions already fixed or drawn
 * earlier), then shuffled when shuffleQuestions. Candidates are sorted before sampling, so the
 * result depends only on (seed, inputs), not on the order a database returned them in.
 */
export function drawQuestions(args: {
  seed: string;
  fixed: FixedQuestion[];
  draws: DrawPool[];
  shuffleQuestions: boolean;
}): string[] {
  type Slot = { position: number; kind: 0 | 1; index: number };
  // At equal positions fixed questions come first; ties otherwise keep input order.
  const slots: Slot[] = [
    ...args.fixed.map((f, index) => ({ position: f.position, kind: 0 as const, index })),
    ...args.draws.map((d, index) => ({ position: d.position, kind: 1 as const, index })),
  ].sort((a, b) => a.position - b.position || a.kind - b.kind || a.index - b.index);

  // Every fixed question is taken, wherever it stands, so no draw may pick it.
  const used = new Set(args.fixed.map((f) => f.questionId));
  const placed = new Set<string>();
  const out: string[] = [];
  for (const slot of slots) {
    if (slot.kind === 0) {
      const id = (args.fixed[slot.index] as FixedQuestion).questionId;
      if (!placed.has(id)) out.push(id);
      placed.add(id);
      continue;
    }
    const pool = args.draws[slot.index] as DrawPool;
    const candidates = [...new Set(pool.candidates)].filter((id) => !used.has(id)).sort();
    // Scoped by the draw's index so that each pool has its own stream.
    const drawn = sample(candidates, pool.count, rngFrom(args.seed, 'draw', String(slot.index)));
    for (const id of drawn) {
      used.add(id);
      placed.add(id);
      out.push(id);
    }
  }
  return args.shuffleQuestions ? shuffle(out, rngFrom(args.seed, 'question-order')) : out;
}
