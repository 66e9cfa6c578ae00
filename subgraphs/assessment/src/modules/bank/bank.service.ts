// Question banks and their questions (instructors and ORG_ADMIN): create, import a whole bank
// from the documented JSON format (all or nothing), add and edit questions (a changed
// definition is a new version; attempts keep the version they showed), archive, export.
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { badInput, canonicalJson, inputId, notFound } from '@lectern/kernel';
import { requireAuthor } from '../../access.ts';
import { assessmentError, type MutationResult } from '../../errors.ts';
import { runMutation, type Idempotent, type ServiceDeps } from '../../mutation.ts';
import { definitionOf, type BankView } from '../../views.ts';
import { BANK_FILE_FORMAT, BANK_FILE_VERSION, normaliseTag, parseBankFile, type BankFile } from '../grading/bank-file.ts';
import type { QuestionDefinition } from '../grading/question.ts';
import { definitionFromInput, type QuestionInput } from './question-input.ts';

export interface CreateQuestionBankInput extends Idempotent {
  name: string;
  description?: string | null;
}
export interface ImportQuestionBankInput extends Idempotent {
  document: string;
}
export interface CreateQuestionInput extends Idempotent {
  bankId: string;
  tags?: string[] | null;
  question: QuestionInput;
}
export interface UpdateQuestionInput extends Idempotent {
  questionId: string;
  tags?: string[] | null;
  question?: QuestionInput | null;
}
export interface ArchiveQuestionInput extends Idempotent {
  questionId: string;
}

type Row = Record<string, unknown>;
const MAX_DOCUMENT_BYTES = 5 * 1024 * 1024;
const MAX_TAGS = 20;

function cleanName(v: string): string {
  const t = v.trim();
  if (t.length < 1 || t.length > 200) throw badInput('name must be 1 to 200 characters', 'name');
  return t;
}

function cleanTags(tags: string[]): string[] {
  const out = [...new Set(tags.map(normaliseTag))];
  if (out.length > MAX_TAGS || out.some((t) => t.length < 1 || t.length > 50)) throw badInput(`tags: at most ${MAX_TAGS}, each 1 to 50 characters`, 'tags');
  return out;
}

/** Inserts questions (version 1 each) of one bank in two statements. */
export async function insertQuestions(em: EntityManager, tenantId: string, bankId: string, createdBy: string | null, questions: { tags: string[]; definition: QuestionDefinition }[]): Promise<string[]> {
  const rows = questions.map((q, n) => ({ id: randomUUID(), version_id: randomUUID(), n, type: q.definition.type, tags: q.tags, definition: q.definition }));
  if (!rows.length) return [];
  await em.execute(
    `insert into questions (id, tenant_id, bank_id, type, tags)
     select x.id, ?, ?, x.type, array(select jsonb_array_elements_text(x.tags)) from jsonb_to_recordset(?::jsonb) as x(id uuid, n int, type text, tags jsonb) order by x.n`,
    [tenantId, bankId, JSON.stringify(rows.map(({ id, n, type, tags }) => ({ id, n, type, tags })))],
  );
  await em.execute(
    `insert into question_versions (id, tenant_id, question_id, number, definition, created_by)
     select x.version_id, ?, x.id, 1, x.definition, ? from jsonb_to_recordset(?::jsonb) as x(id uuid, version_id uuid, definition jsonb)`,
    [tenantId, createdBy, JSON.stringify(rows.map(({ id, version_id, definition }) => ({ id, version_id, definition })))],
  );
  return rows.map((r) => r.id);
}

/** The bank as a `lectern.question-bank` document: the current version of each question in use. */
export function bankDocument(bank: BankView, questions: { tags: string[]; definition: QuestionDefinition; ref: string }[]): BankFile {
  return {
    format: BANK_FILE_FORMAT,
    version: BANK_FILE_VERSION,
    bank: { name: bank.name, description: bank.description },
    questions: questions.map((q) => ({ ref: q.ref, tags: q.tags, question: q.definition })),
  };
}

export class BankService {
  #deps: ServiceDeps;
  constructor(deps: ServiceDeps) {
    this.#deps = deps;
  }

  async createQuestionBank(input: CreateQuestionBankInput): Promise<MutationResult> {
    const { actor } = this.#deps;
    requireAuthor(actor);
    const name = cleanName(input.name);
    const description = input.description?.trim() || null;
    if (description && description.length > 2000) throw badInput('description must be at most 2000 characters', 'description');
    return runMutation({ ...this.#deps, actor }, 'createQuestionBank', { ...input, name, description }, async (em, tenantId) => {
      const id = randomUUID();
      await em.execute(`insert into question_banks (id, tenant_id, name, description, created_by) values (?, ?, ?, ?, ?)`, [id, tenantId, name, description, actor.userId]);
      return { bankId: id, errors: [] };
    });
  }

  async importQuestionBank(input: ImportQuestionBankInput): Promise<MutationResult> {
    const { actor } = this.#deps;
    requireAuthor(actor);
    if (Buffer.byteLength(input.document, 'utf8') > MAX_DOCUMENT_BYTES) throw badInput('document must be at most 5 MiB', 'document');
    return runMutation({ ...this.#deps, actor }, 'importQuestionBank', input, async (em, tenantId) => {
      let raw: unknown;
      try {
        raw = JSON.parse(input.document);
      } catch {
        return { errors: [assessmentError('INVALID_BANK_DOCUMENT', 'The document is not JSON', 'document')] };
      }
      const parsed = parseBankFile(raw);
      if (!parsed.ok) return { errors: parsed.issues.map((i) => assessmentError('INVALID_BANK_DOCUMENT', `${i.path || 'document'}: ${i.message}`, i.path ? `document.${i.path}` : 'document')) };
      const { bank, questions } = parsed.value;
      const id = randomUUID();
      await em.execute(`insert into question_banks (id, tenant_id, name, description, created_by) values (?, ?, ?, ?, ?)`, [id, tenantId, bank.name, bank.description ?? null, actor.userId]);
      await insertQuestions(em, tenantId, id, actor.userId, questions.map((q) => ({ tags: q.tags, definition: q.question })));
      return { bankId: id, errors: [] };
    });
  }

  async createQuestion(input: CreateQuestionInput): Promise<MutationResult> {
    const { actor } = this.#deps;
    requireAuthor(actor);
    const bankId = inputId(input.bankId, 'QuestionBank', 'bankId');
    const tags = cleanTags(input.tags ?? []);
    return runMutation({ ...this.#deps, actor }, 'createQuestion', { ...input, tags }, async (em, tenantId) => {
      const [bank] = await em.execute<Row[]>(`select id from question_banks where tenant_id = ? and id = ?`, [tenantId, bankId]);
      if (!bank) throw notFound('QuestionBank');
      const parsed = definitionFromInput(input.question);
      if (!parsed.ok) return { errors: parsed.issues.map((i) => assessmentError('INVALID_QUESTION', `${i.path}: ${i.message}`, `question.${i.path}`)) };
      const [id] = await insertQuestions(em, tenantId, bankId, actor.userId, [{ tags, definition: parsed.value }]);
      return { questionId: id, errors: [] };
    });
  }

  async updateQuestion(input: UpdateQuestionInput): Promise<MutationResult> {
    const { actor } = this.#deps;
    requireAuthor(actor);
    const questionId = inputId(input.questionId, 'Question', 'questionId');
    const tags = input.tags == null ? null : cleanTags(input.tags);
    return runMutation({ ...this.#deps, actor }, 'updateQuestion', { ...input, tags }, async (em, tenantId) => {
      const [q] = await em.execute<Row[]>(
        `select q.type, q.current_version, v.definition from questions q join question_versions v on v.tenant_id = q.tenant_id and v.question_id = q.id and v.number = q.current_version
          where q.tenant_id = ? and v.tenant_id = ? and q.id = ? for update of q`,
        [tenantId, tenantId, questionId],
      );
      if (!q) throw notFound('Question');
      if (input.question) {
        if (input.question.type !== q.type) return { questionId, errors: [assessmentError('INVALID_QUESTION', `A question's type cannot change (it is ${String(q.type)}): create a new question`, 'question.type')] };
        const parsed = definitionFromInput(input.question);
        if (!parsed.ok) return { questionId, errors: parsed.issues.map((i) => assessmentError('INVALID_QUESTION', `${i.path}: ${i.message}`, `question.${i.path}`)) };
        // An unchanged definition is not a new version.
        if (canonicalJson(parsed.value) !== canonicalJson(definitionOf(q.definition))) {
          const next = Number(q.current_version) + 1;
          await em.execute(`insert into question_versions (id, tenant_id, question_id, number, definition, created_by) values (?, ?, ?, ?, ?::jsonb, ?)`, [
            randomUUID(),
            tenantId,
            questionId,
            next,
            JSON.stringify(parsed.value),
            actor.userId,
          ]);
          await em.execute(`update questions set current_version = ?, updated_at = now() where tenant_id = ? and id = ?`, [next, tenantId, questionId]);
        }
      }
      if (tags) await em.execute(`update questions set tags = ?::text[], updated_at = now() where tenant_id = ? and id = ?`, [`{${tags.map((t) => JSON.stringify(t)).join(',')}}`, tenantId, questionId]);
      return { questionId, errors: [] };
    });
  }

  async archiveQuestion(input: ArchiveQuestionInput): Promise<MutationResult> {
    const { actor } = this.#deps;
    requireAuthor(actor);
    const questionId = inputId(input.questionId, 'Question', 'questionId');
    return runMutation({ ...this.#deps, actor }, 'archiveQuestion', input, async (em, tenantId) => {
      const rows = await em.execute<Row[]>(`update questions set archived_at = coalesce(archived_at, now()), updated_at = now() where tenant_id = ? and id = ? returning id`, [tenantId, questionId]);
      if (!rows.length) throw notFound('Question');
      return { questionId, errors: [] };
    });
  }

  /** The bank's export document (JSON text). */
  async exportDocument(bank: BankView): Promise<string> {
    const rows = await this.#deps.uow.statement<Row>(
      `select q.id, q.tags, v.definition from questions q join question_versions v on v.tenant_id = q.tenant_id and v.question_id = q.id and v.number = q.current_version
        where q.tenant_id = ? and v.tenant_id = ? and q.bank_id = ? and q.archived_at is null order by q.seq`,
      [this.#deps.actor.tenantId, this.#deps.actor.tenantId, bank.id],
    );
    const doc = bankDocument(
      bank,
      rows.map((r) => ({ ref: String(r.id), tags: (r.tags as string[]) ?? [], definition: definitionOf(r.definition) })),
    );
    return JSON.stringify(doc, null, 2);
  }
}
