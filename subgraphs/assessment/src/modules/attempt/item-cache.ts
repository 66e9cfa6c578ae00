// What an attempt showed never changes once it started: its learner, and each position's
// question version; nor does a question version's definition. The save, submit and expiry paths
// read them from this per-process cache rather than from PostgreSQL at every call (an autosave
// is the hot path; a class's attempts expire together).
// Keyed by organization and attempt; a miss is read in the caller's transaction (RLS applies),
// so an entry only holds what that organization's query answered. Least recently used entries
// go beyond `max`.
import type { EntityManager } from '@mikro-orm/postgresql';
import { uuidArrayLiteral } from '@lectern/kernel/rows';
import { definitionOf } from '../../views.ts';
import type { QuestionDefinition } from '../grading/question.ts';

export interface ShownItem {
  position: number;
  questionId: string;
  versionId: string;
  definition: QuestionDefinition;
}

export interface ShownAttempt {
  learnerId: string;
  items: Map<number, ShownItem>;
}

type Row = Record<string, unknown>;

export class AttemptItemsCache {
  #entries = new Map<string, ShownAttempt>();
  #versions = new Map<string, QuestionDefinition>();
  readonly #max: number;

  constructor(max = 20_000) {
    this.#max = max;
  }

  /** The attempt's learner and shown questions; null when the organization has no such attempt. */
  async get(em: EntityManager, tenantId: string, attemptId: string): Promise<ShownAttempt | null> {
    const key = `${tenantId}:${attemptId}`;
    const hit = this.#entries.get(key);
    if (hit) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return hit;
    }
    const rows = await em.execute<Row[]>(
      `select a.learner_id, i.position, i.question_id, i.version_id, v.definition
         from attempts a
         join attempt_items i on i.tenant_id = a.tenant_id and i.attempt_id = a.id
         join question_versions v on v.tenant_id = i.tenant_id and v.id = i.version_id
        where a.tenant_id = ? and a.id = ?`,
      [tenantId, attemptId],
    );
    if (!rows.length) return null;
    const shown: ShownAttempt = {
      learnerId: String(rows[0]!.learner_id),
      items: new Map(
        rows.map((r) => [Number(r.position), { position: Number(r.position), questionId: String(r.question_id), versionId: String(r.version_id), definition: definitionOf(r.definition) }]),
      ),
    };
    this.#entries.set(key, shown);
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value!);
    for (const i of shown.items.values()) this.#remember(tenantId, i.versionId, i.definition);
    return shown;
  }

  /** The definitions of question versions (immutable), those not cached read in one statement. */
  async definitions(em: EntityManager, tenantId: string, versionIds: readonly string[]): Promise<Map<string, QuestionDefinition>> {
    const out = new Map<string, QuestionDefinition>();
    const missing: string[] = [];
    for (const id of new Set(versionIds)) {
      const hit = this.#versions.get(`${tenantId}:${id}`);
      if (hit) out.set(id, hit);
      else missing.push(id);
    }
    if (missing.length) {
      const rows = await em.execute<Row[]>(`select id, definition from question_versions where tenant_id = ? and id = any(?::uuid[])`, [tenantId, uuidArrayLiteral(missing)]);
      for (const r of rows) {
        const def = definitionOf(r.definition);
        out.set(String(r.id), def);
        this.#remember(tenantId, String(r.id), def);
      }
    }
    return out;
  }

  #remember(tenantId: string, versionId: string, def: QuestionDefinition) {
    const key = `${tenantId}:${versionId}`;
    if (this.#versions.has(key)) return;
    this.#versions.set(key, def);
    if (this.#versions.size > this.#max) this.#versions.delete(this.#versions.keys().next().value!);
  }
}
