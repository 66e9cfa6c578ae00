// When a completion earns a certificate: the rule decides, in one transaction with the
// completion's row locked. A certificate is made (PENDING, with its status list entry) when
//   - the course has an enabled rule,
//   - the completion has no certificate yet (UNIQUE (tenant_id, enrollment_id) backs this up:
//     exactly one certificate per completion, whatever the redelivery or the race), and
//   - the rule's minimum grade, if any, is met: the learner's grade in EVERY quiz of the
//     completed course version (its QUIZ lessons) is at least the minimum. The grade is
//     assessment's (QuizPassed / QuizFailed carry the quiz's grade under its grading method).
// A completion that does not qualify yet is kept: a later grade, or a rule enabled later for
// past completions, evaluates it again. After commit the worker is asked to generate it
// (pending_certificates lets the sweep ask again if Redis did not take the job).
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { afterCommit } from '@lectern/kernel/uow';
import type { IssuerKey } from '../credential/keys.ts';
import type { Directory, VersionFacts } from '../people/directory.ts';
import { allocateStatusEntry } from '../status/status-lists.ts';

export interface EvaluateDeps {
  directory: Pick<Directory, 'version'>;
  /** The organization's issuer key (made on first use), for a new status list. */
  issuer(em: EntityManager, tenantId: string): Promise<IssuerKey>;
  /** The public origin status list URLs start with. */
  origin(): string;
  /** Asks the worker to generate the certificate (after commit; never throws). */
  generate(tenantId: string, certificateId: string): Promise<void>;
}

interface CompletionRow {
  enrollment_id: string;
  learner_id: string;
  course_id: string;
  course_version_id: string;
  enabled: boolean | null;
  minimum_quiz_grade: number | null;
  valid_for_days: number | null;
  certified: boolean;
}

/** The version's facts, asked of catalog once (published versions never change). Throws while catalog cannot answer. */
export async function versionFacts(em: EntityManager, deps: Pick<EvaluateDeps, 'directory'>, tenantId: string, versionId: string): Promise<VersionFacts> {
  const [row] = await em.execute<{ course_id: string; title: string; description: string; quiz_ids: string[] }[]>(
    `select course_id, title, description, quiz_ids from course_versions where tenant_id = ? and version_id = ?`,
    [tenantId, versionId],
  );
  if (row) return { versionId, courseId: row.course_id, title: row.title, description: row.description, quizIds: row.quiz_ids };
  const facts = await deps.directory.version(tenantId, versionId);
  // Completed versions were published, and catalog answers those for good: a miss is retried.
  if (!facts) throw new Error(`catalog does not know course version ${versionId} (yet)`);
  await em.execute(
    `insert into course_versions (tenant_id, version_id, course_id, title, description, quiz_ids) values (?, ?, ?, ?, ?, ?::uuid[]) on conflict do nothing`,
    [tenantId, versionId, facts.courseId, facts.title, facts.description, `{${facts.quizIds.join(',')}}`],
  );
  return facts;
}

/**
 * Evaluates one completion in the caller's transaction (`em`, the outermost one: the job is asked
 * after it commits). Returns the new certificate's id, or null when none was made.
 */
export async function evaluateCompletion(em: EntityManager, deps: EvaluateDeps, tenantId: string, enrollmentId: string): Promise<string | null> {
  const [c] = await em.execute<CompletionRow[]>(
    `select c.enrollment_id, c.learner_id, c.course_id, c.course_version_id, r.enabled, r.minimum_quiz_grade, r.valid_for_days,
            exists (select 1 from certificates x where x.tenant_id = c.tenant_id and x.enrollment_id = c.enrollment_id) as certified
       from completions c left join certificate_rules r on r.tenant_id = c.tenant_id and r.course_id = c.course_id
      where c.tenant_id = ? and c.enrollment_id = ? for update of c`,
    [tenantId, enrollmentId],
  );
  if (!c || !c.enabled || c.certified) return null;
  const facts = await versionFacts(em, deps, tenantId, c.course_version_id);
  if (c.minimum_quiz_grade !== null && facts.quizIds.length) {
    const grades = await em.execute<{ quiz_id: string; score: number }[]>(
      `select quiz_id, score from quiz_grades where tenant_id = ? and learner_id = ? and quiz_id = any(?::uuid[])`,
      [tenantId, c.learner_id, `{${facts.quizIds.join(',')}}`],
    );
    const minimum = Number(c.minimum_quiz_grade);
    const met = new Set(grades.filter((g) => Number(g.score) >= minimum - 1e-9).map((g) => g.quiz_id));
    if (!facts.quizIds.every((q) => met.has(q))) return null;
  }
  // Last, so the list's row (every issue of the organization takes it) is locked briefly.
  const entry = await allocateStatusEntry(em, tenantId, () => deps.issuer(em, tenantId), deps.origin());
  const id = randomUUID();
  const [made] = await em.execute<{ id: string }[]>(
    `insert into certificates (id, tenant_id, enrollment_id, learner_id, course_id, course_version_id, status, issued_at, valid_until, status_list_id, status_list_index)
     values (?, ?, ?, ?, ?, ?, 'PENDING', now(), case when ?::int is null then null else now() + make_interval(days => ?::int) end, ?, ?)
     on conflict (tenant_id, enrollment_id) do nothing returning id`,
    [id, tenantId, c.enrollment_id, c.learner_id, c.course_id, c.course_version_id, c.valid_for_days, c.valid_for_days, entry.listId, entry.index],
  );
  if (!made) return null;
  await em.execute(`insert into pending_certificates (certificate_id, organization_id) values (?, ?)`, [id, tenantId]);
  afterCommit(em, () => void deps.generate(tenantId, id));
  return id;
}

/** The learner's completions a grade may now qualify: under an enabled rule with a minimum grade, not certified yet. */
export async function completionsAwaitingGrades(em: EntityManager, tenantId: string, learnerId: string): Promise<string[]> {
  const rows = await em.execute<{ enrollment_id: string }[]>(
    `select c.enrollment_id from completions c
       join certificate_rules r on r.tenant_id = c.tenant_id and r.course_id = c.course_id
      where c.tenant_id = ? and c.learner_id = ? and r.enabled and r.minimum_quiz_grade is not null
        and not exists (select 1 from certificates x where x.tenant_id = c.tenant_id and x.enrollment_id = c.enrollment_id)`,
    [tenantId, learnerId],
  );
  return rows.map((r) => r.enrollment_id);
}
