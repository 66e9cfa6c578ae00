// Reading and setting a course's completion policy. Stored whole (every kind's rule and the
// course rule) so the SQL evaluation reads one jsonb; a course without a row uses
// DEFAULT_POLICY. A change applies from each learner's next progress (completions already
// reached never regress).
import { badInput, idempotent, isUuid, principalOf, type Actor, type UnitOfWork } from '@lectern/kernel';
import { requireLearner, requireOrgAdmin } from '../../access.ts';
import type { LearningError } from '../../errors.ts';
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
  courseId: string;
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
  course?: CourseRuleName | null;
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

  async get(courseId: string): Promise<PolicyView> {
    if (this.#actor.kind !== 'api_key') requireLearner(this.#actor);
    if (!isUuid(courseId)) throw badInput('courseId is not a valid id', 'courseId');
    const row = await this.#loaders.policy.load(courseId);
    return { courseId, policy: readPolicy(row?.rules), custom: !!row, updatedAt: row?.updatedAt ?? null };
  }

  async set(input: SetCompletionPolicyInput): Promise<SetPolicyResult> {
    const actor = this.#actor;
    requireOrgAdmin(actor);
    if (!isUuid(input.courseId)) throw badInput('courseId is not a valid id', 'courseId');
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
    if (input.course) patch.course = { rule: input.course };
    const result = await this.#uow.write((em) =>
      idempotent(em, { tenantId: actor.tenantId, scope: `setCompletionPolicy:${principalOf(actor)}`, key: input.idempotencyKey, input }, async () => {
        const row = await lockPolicyRules(em, actor.tenantId, input.courseId);
        const next = policySchema.parse({ ...readPolicy(row?.rules), ...patch });
        await upsertPolicy(em, actor.tenantId, input.courseId, next, actor.userId);
        return { courseId: input.courseId, errors: [] };
      }),
    );
    this.#loaders.clearAll();
    return result;
  }
}
