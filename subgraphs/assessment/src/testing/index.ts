// Test, benchmark and demo helpers: enrollment's roster events as the relay would deliver them,
// applied the way the kernel's consumer applies them (processed_events claim + handler, one
// transaction), and the demo organization's quizzes (scripts/seed-demo.ts).
import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { createLogger } from '@lectern/kernel/logger';
import type { EventEnvelope } from '@lectern/kernel/events';
import { deliveredEnvelope } from '@lectern/kernel/outbox';
import { deliverEvent } from '@lectern/kernel/consumers';
import { ASSESSMENT } from '@lectern/contracts/assessment';
import { inTenant } from '@lectern/kernel/uow';
import { insertQuestions } from '../modules/bank/bank.service.ts';
import { normaliseTag } from '../modules/grading/bank-file.ts';
import { parseQuestion, type QuestionDefinition } from '../modules/grading/question.ts';
import { rosterHandlers } from '../modules/roster/roster.handlers.ts';

export { rosterHandlers };

/** An envelope of `def` as a relay delivers one (a fresh aggregate id unless given). */
export const envelope = deliveredEnvelope;

const quiet = createLogger('assessment-test', 'silent');

/** Applies `event` to assessment's roster as the kernel's consumer does: once per event id. */
export const applyRosterEvent = (orm: MikroORM, event: EventEnvelope) => deliverEvent(orm, ASSESSMENT, rosterHandlers(), event, quiet);

/** A demo quiz: the id catalog's QUIZ lesson links to, its course and its title. */
export interface DemoQuiz {
  quizId: string;
  courseId: string;
  title: string;
}

/** Three questions for each demo quiz (choice, true/false, short answer), by the quiz's title. */
function demoQuestions(title: string): { tags: string[]; definition: QuestionDefinition }[] {
  const tags = [normaliseTag(title)];
  const def = (raw: unknown) => {
    const parsed = parseQuestion(raw);
    if (!parsed.ok) throw new Error(`demo question: ${JSON.stringify(parsed.issues)}`);
    return { tags, definition: parsed.value };
  };
  return [
    def({ type: 'SINGLE_CHOICE', prompt: `${title}: which statement is right?`, options: [{ id: 'a', text: 'The one the lessons showed' }, { id: 'b', text: 'The opposite' }, { id: 'c', text: 'Neither' }], correct: 'a', explanation: 'See the lessons of this module.' }),
    def({ type: 'TRUE_FALSE', prompt: `${title}: practice makes perfect.`, correct: true }),
    def({ type: 'SHORT_ANSWER', prompt: `${title}: type the word "done" to finish.`, accepted: ['done'], caseSensitive: false }),
  ];
}

/**
 * The demo organization's quizzes (scripts/seed-demo.ts): a bank per quiz with three questions
 * and the quiz itself, published, 3 attempts, pass mark 60 %, answers shown after submitting.
 * Idempotent: a quiz already there is left as it is.
 */
export async function seedDemoAssessment(orm: MikroORM, opts: { tenantId: string; authorId: string; quizzes: DemoQuiz[] }): Promise<void> {
  await inTenant(orm, opts.tenantId, (uow) =>
    uow.write(async (em) => {
      for (const q of opts.quizzes) {
        const [exists] = await em.execute<{ id: string }[]>('select id from quizzes where tenant_id = ? and id = ?', [opts.tenantId, q.quizId]);
        if (exists) continue;
        const bankId = randomUUID();
        await em.execute('insert into question_banks (id, tenant_id, name, description, created_by) values (?, ?, ?, ?, ?)', [bankId, opts.tenantId, q.title, 'Demo questions', opts.authorId]);
        const questionIds = await insertQuestions(em, opts.tenantId, bankId, opts.authorId, demoQuestions(q.title));
        await em.execute(
          `insert into quizzes (id, tenant_id, course_id, title, published, attempts_allowed, grading_method, pass_fraction, review_mode, review_availability, created_by)
           values (?, ?, ?, ?, true, 3, 'HIGHEST', 0.6, 'ANSWERS', 'IMMEDIATELY', ?)`,
          [q.quizId, opts.tenantId, q.courseId, q.title, opts.authorId],
        );
        await em.execute(
          `insert into quiz_items (tenant_id, quiz_id, position, question_id) select ?, ?, x.position, x.question_id from jsonb_to_recordset(?::jsonb) as x(position int, question_id uuid)`,
          [opts.tenantId, q.quizId, JSON.stringify(questionIds.map((id, i) => ({ position: i + 1, question_id: id })))],
        );
      }
    }),
  );
}
