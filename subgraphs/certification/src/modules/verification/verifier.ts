// The public verifier: a credential (JSON text, or a PDF carrying one) → valid / revoked /
// expired / tampered / invalid, with reasons. The cryptography and the rules are
// credential/verify.ts's; this file gives it what only Lectern knows, read without an
// organization (the caller may be anyone): which organization a did:key is (public_issuers) and
// the status lists Lectern publishes (public_status_lists, by the list id at the end of the
// credential's statusListCredential URL: the list itself is signed, so the URL's origin need
// not match today's).
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '@lectern/kernel';
import { within } from '@lectern/kernel/deadline';
import type { TokenBucket } from '@lectern/kernel/rate-limit';
import { verifyAchievementCredential, type CredentialVerification } from '../credential/verify.ts';
import { credentialFromPdf, PdfReadError } from '../pdf/extract.ts';
import { publishedStatusList, STATUS_PATH } from '../status/status-lists.ts';

/** The largest credential or PDF the verifier reads. */
export const MAX_VERIFY_BYTES = 5 * 1024 * 1024;

const invalid = (reason: string): CredentialVerification => ({
  status: 'INVALID',
  reasons: [reason],
  checks: [{ name: 'FORMAT', passed: false, detail: reason }],
  credentialId: null,
  issuer: null,
  achievementName: null,
  validFrom: null,
  validUntil: null,
});

/** How long the limit waits for Redis before letting a verification through. */
const LIMIT_TIMEOUT_MS = 500;

export class Verifier {
  readonly #orm: MikroORM;
  readonly #limit: TokenBucket;
  readonly #log: Logger;
  constructor(orm: MikroORM, limit: TokenBucket, log: Logger) {
    this.#orm = orm;
    this.#limit = limit;
    this.#log = log;
  }

  /**
   * The seconds a client must wait before verifying again (over VERIFY_RATE_PER_MINUTE from its
   * address), or null. Verifying reads PostgreSQL only: while Redis cannot answer, nobody waits.
   */
  async wait(client: string | null): Promise<number | null> {
    try {
      return await within(LIMIT_TIMEOUT_MS, () => this.#limit.take(client ?? 'unknown'), `Redis did not answer within ${LIMIT_TIMEOUT_MS} ms`);
    } catch (err) {
      this.#log.warn({ err }, 'the verifier\'s rate limit is not applied: Redis did not answer');
      return null;
    }
  }

  /** Verifies a parsed credential (any JSON value: the rules say what is wrong with it). */
  verify(credential: unknown): Promise<CredentialVerification> {
    return verifyAchievementCredential(credential, {
      statusList: async (url) => {
        const at = url.lastIndexOf(STATUS_PATH);
        return at < 0 ? null : publishedStatusList(this.#orm, url.slice(at + STATUS_PATH.length));
      },
      issuer: async (did) => {
        const [row] = await this.#orm.em.fork().execute<{ name: string }[]>(`select name from public_issuers where did = ?`, [did]);
        return row ? { name: row.name } : null;
      },
    });
  }

  /** Verifies a credential given as JSON text. */
  verifyJson(text: string): Promise<CredentialVerification> {
    if (Buffer.byteLength(text) > MAX_VERIFY_BYTES) return Promise.resolve(invalid(`The credential is larger than ${MAX_VERIFY_BYTES / 1024 / 1024} MiB`));
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return Promise.resolve(invalid('The credential is not JSON: give the .json file of an Open Badges 3.0 credential, or the certificate PDF'));
    }
    return this.verify(parsed);
  }

  /** Verifies the credential embedded in a certificate PDF. */
  async verifyPdf(bytes: Uint8Array): Promise<CredentialVerification> {
    let text: string | null;
    try {
      text = await credentialFromPdf(bytes, MAX_VERIFY_BYTES);
    } catch (err) {
      if (err instanceof PdfReadError) return invalid(`The PDF cannot be read: ${err.message}`);
      throw err;
    }
    if (text === null) return invalid('The PDF carries no credential (a Lectern certificate PDF has it attached as credential.json)');
    return this.verifyJson(text);
  }
}
