// Reading and setting a course's completion policy. Stored whole (every kind's rule, the
// course rule and the attendance requirement) so the SQL evaluation reads one jsonb; a course
// without a row uses DEFAULT_POLICY. A change applies from each learner's next progress or
// recorded attendance (completions already reached never regress).
import { badInput, idempotent, idOf, inputId, principalOf, type Actor, type UnitOfWork } from '@lectern/kernel';
import { requireLearner, requireOrgAdmin } from '../../access.ts';
import { courseNotFound, type LearningError } from '../../errors.ts';
import type { LearningLoaders } from '../../loaders.ts';
import { lockPolicyRules, upsertPolicy } from './policy.store.ts';
import { policySchema, readPolicy, type CompletionPolicy, type CourseRuleName, type LessonRuleName } from './policy.ts';

export interface PolicyView {
  courseId: string;
  policy: CompletionPolicy;
  custom: boolean;
  updatedAt: Date | null;
}

export interface SetPolicyResult {
  /** The course whose policy was set (plain UUID); null when nothing was set. */
  courseId: string | null;
  errors: LearningError[];
}

interface RuleInput {
  rule: LessonRuleName;
  threshold?: number | null;
}

export interface SetCompletionPolicyInput {
  courseId: string;
  video?: RuleInput | null;
  text?: RuleInput | null;
  quiz?: RuleInput | null;
  external?: RuleInput | null;
  courseRule?: CourseRuleName | null;
  /** 1 to 100 sets the live attendance requirement; null removes it; left out (undefined) keeps it. */
  minSessionAttendancePercent?: number | null;
  idempotencyKey: string;
}

export class PolicyService {
  #actor: Actor;
  #uow: UnitOfWork;
  #loaders: LearningLoaders;
  constructor(deps: { actor: Actor; uow: UnitOfWork; loaders: LearningLoaders }) {
    this.#actor = deps.actor;
    this.#uow = deps.uow;
    this.#loaders = deps.loaders;
  }

  /** The policy of a course the caller's organization holds (`courseId`: a plain UUID, checked by the caller). */
  async view(courseId: string): Promise<PolicyView> {
    const row = await this.#loaders.policy.load(courseId);
    return { courseId, policy: readPolicy(row?.rules), custom: !!row, updatedAt: row?.updatedAt ?? null };
  }

  /** The policy of the course `id` (a Course id); null when the course does not exist in the caller's organization. */
  async get(id: string): Promise<PolicyView | null> {
    this.#mayRead();
    const courseId = idOf(id, 'Course');
    return courseId ? this.#existing(courseId) : null;
  }

  /** `node(id:)` of a CompletionPolicy id; null when the caller may not read policies or the course does not exist. */
  async byId(id: string): Promise<PolicyView | null> {
    const courseId = idOf(id, 'CompletionPolicy');
    if (!courseId || !this.#actor.tenantId || this.#actor.kind === 'anonymous') return null;
    return this.#existing(courseId);
  }

  #mayRead() {
    if (this.#actor.kind !== 'api_key') requireLearner(this.#actor);
  }

  async #existing(courseId: string): Promise<PolicyView | null> {
    return (await this.#loaders.courseExists.load(courseId)) ? this.view(courseId) : null;
  }

  async set(input: SetCompletionPolicyInput): Promise<SetPolicyResult> {
    const actor = this.#actor;
    requireOrgAdmin(actor);
    const courseId = inputId(input.courseId, 'Course', 'courseId');
    const patch: Record<string, unknown> = {};
    const rule = (name: string, r: RuleInput | null | undefined) => {
      if (!r) return;
      if (r.rule === 'WATCHED_FRACTION') {
        if (typeof r.threshold !== 'number' || !(r.threshold > 0 && r.threshold <= 1)) throw badInput(`${name}.threshold must be in (0, 1] for WATCHED_FRACTION`, `${name}.threshold`);
        return { rule: r.rule, threshold: r.threshold };
      }
      if (r.threshold !== undefined && r.threshold !== null) throw badInput(`${name}.threshold applies to WATCHED_FRACTION only`, `${name}.threshold`);
      return { rule: r.rule };
    };
    if (input.video) patch.VIDEO = rule('video', input.video);
    if (input.text) patch.TEXT = rule('text', input.text);
    if (input.quiz) patch.QUIZ = rule('quiz', input.quiz);
    if (input.external) patch.EXTERNAL = rule('external', input.external);
    if (input.courseRule) patch.course = { rule: input.courseRule };
    const minPercent = input.minSessionAttendancePercent;
    if (minPercent !== undefined) {
      if (minPercent !== null && !(Number.isInteger(minPercent) && minPercent >= 1 && minPercent <= 100)) {
        throw badInput('minSessionAttendancePercent must be an integer from 1 to 100 (or null for no attendance requirement)', 'minSessionAttendancePercent');
      }
      patch.attendance = minPercent === null ? null : { minSessionPercent: minPercent };
    }
    // Only a course of the caller's organization (catalog's answer: unknown and another
    // organization's read the same); nothing is stored for any other.
    if (!(await this.#loaders.courseExists.load(courseId))) return { courseId: null, errors: [courseNotFound('courseId')] };
    const result = await this.#uow.write((em) =>
      idempotent(em, { tenantId: actor.tenantId, scope: `setCompletionPolicy:${principalOf(actor)}`, key: input.idempotencyKey, input }, async () => {
        const row = await lockPolicyRules(em, actor.tenantId, courseId);
        const next = policySchema.parse({ ...readPolicy(row?.rules), ...patch });
        await upsertPolicy(em, actor.tenantId, courseId, next, actor.userId);
        return { courseId, errors: [] as LearningError[] };
      }),
    );
    this.#loaders.clearAll();
    return result;
  }
}
