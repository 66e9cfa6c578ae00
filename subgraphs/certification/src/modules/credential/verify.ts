// Verifies an Open Badges 3.0 credential that someone presents to Lectern (pasted, uploaded or
// looked up) and explains the verdict in sentences a person can act on.
//
// Verdicts, by precedence: TAMPERED (the signature does not cover what is shown) > INVALID
// (well signed but not acceptable: not ours, malformed, untrusted status list, not yet valid)
// > REVOKED > EXPIRED > VALID. `reasons` lists every finding, the most important first.
//
// Safety: the input is untrusted. It is size-bounded, never makes the server fetch anything
// (static document loader), and any problem it causes becomes a verdict, not an exception.
// JSON-LD canonicalization runs in safe mode (the cryptosuite's default, which we rely on and
// test): a property or type that the @context does not define is an error instead of being
// silently dropped, so text outside the signature cannot ride along with a valid proof.
// Embedded (inline) @context objects and unknown context URLs are refused outright, because a
// changed context can change what the signed data means.
//
// `verifyOffline` is the libraries' own verifier, with nothing of ours in the decision: the
// acceptance check that a credential verifies for anyone, anywhere, with standard tools.
import { DataIntegrityProof } from '@digitalbazaar/data-integrity';
import { cryptosuite } from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as vc from '@digitalbazaar/vc';
import * as statusListLib from '@digitalbazaar/vc-bitstring-status-list';
import { ISSUED_CONTEXTS, OB_EXTENSIONS_CONTEXT, VC_V1_CONTEXT, VC_V2_CONTEXT, type JsonObject } from './credential.ts';
import { documentLoader, documentLoaderWith, hasStaticDocument } from './loader.ts';

export type VerificationStatus = 'VALID' | 'REVOKED' | 'EXPIRED' | 'TAMPERED' | 'INVALID';

export interface VerificationCheck {
  name: 'FORMAT' | 'PROOF' | 'ISSUER' | 'STATUS' | 'VALIDITY_PERIOD';
  /** null: could not be checked. */
  passed: boolean | null;
  detail: string;
}

export interface CredentialVerification {
  status: VerificationStatus;
  /** Sentences for people, most important first. */
  reasons: string[];
  checks: VerificationCheck[];
  credentialId: string | null;
  issuer: { id: string; name: string | null } | null;
  achievementName: string | null;
  validFrom: string | null;
  validUntil: string | null;
}

export interface VerificationDeps {
  now?: Date;
  /** The status list credential at `url` (our own, read from the database), or null when unknown. */
  statusList(url: string): Promise<object | null>;
  /** Whether the issuer DID is an organization on this Lectern, and its current name; null: not ours. */
  issuer(did: string): Promise<{ name: string } | null>;
}

export interface OfflineVerification {
  /** The proof verifies and, when a status list was given, the list verifies, is the issuer's
   * and does not mark the credential revoked. */
  verified: boolean;
  /** null: not checked (no status list given, or verification failed before the status check). */
  revoked: boolean | null;
  errors: string[];
}

/** A Lectern credential is ~2.5 kB; anything far larger is not one, and costs CPU to parse. */
export const MAX_CREDENTIAL_CHARS = 64 * 1024;
/** Clocks of the issuing and verifying machines may disagree a little (as the VC library allows). */
const CLOCK_SKEW_MS = 5 * 60 * 1000;
const OB_CREDENTIAL_TYPES = ['OpenBadgeCredential', 'AchievementCredential'];
/**
 * The @context lists Lectern has ever signed with. A credential of one of our issuers with any
 * other list was changed, even where the swap happens to leave the signed RDF intact. When
 * issuing moves to a new list, add it here and keep the old ones: old credentials must verify.
 */
const LECTERN_CONTEXT_LISTS: readonly (readonly string[])[] = [ISSUED_CONTEXTS];

type CheckName = VerificationCheck['name'];
type Severity = 'tampered' | 'invalid' | 'revoked' | 'expired' | 'caveat';
const SEVERITY_ORDER: Severity[] = ['tampered', 'invalid', 'revoked', 'expired', 'caveat'];

function verifierSuite(): DataIntegrityProof {
  return new DataIntegrityProof({ cryptosuite });
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function truncate(text: string, max = 400): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The library's reason, flattened: VerificationError lists, JSON-LD safe-mode events, causes. */
export function describeError(error: unknown, depth = 0): string {
  if (!(error instanceof Error)) return truncate(String(error));
  const nested = (error as { errors?: unknown }).errors;
  if (Array.isArray(nested) && nested.length > 0 && depth < 3) {
    return truncate(nested.map((inner) => describeError(inner, depth + 1)).join('; '));
  }
  let text = error.message;
  const event = (error as { details?: { event?: { message?: unknown; details?: unknown } } }).details?.event;
  if (event && typeof event.message === 'string') {
    text += ` ${event.message}`;
    if (event.details !== undefined) text += ` ${JSON.stringify(event.details)}`;
  }
  const cause = error.cause;
  if (cause instanceof Error && depth < 3 && !text.includes(cause.message)) text += ` (${describeError(cause, depth + 1)})`;
  return truncate(text);
}

type Parsed = { ok: true; credential: JsonObject } | { ok: false; reason: string };

function describeKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value}`;
}

/** Accepts a parsed JSON object or JSON text; returns a plain-JSON copy (no prototypes,
 * getters or non-JSON values can reach the libraries). */
function parseInput(input: unknown): Parsed {
  let value = input;
  if (typeof input === 'string') {
    if (input.length > MAX_CREDENTIAL_CHARS) return { ok: false, reason: `it is ${input.length} characters long, far more than a credential` };
    try {
      value = JSON.parse(input);
    } catch {
      return { ok: false, reason: 'it is not JSON' };
    }
  }
  if (!isObject(value)) return { ok: false, reason: `it is ${describeKind(value)}, not a JSON object` };
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch {
    return { ok: false, reason: 'it cannot be read as JSON' };
  }
  if (text.length > MAX_CREDENTIAL_CHARS) return { ok: false, reason: `it is ${text.length} characters long, far more than a credential` };
  return { ok: true, credential: JSON.parse(text) as JsonObject };
}

function issuerOf(credential: JsonObject): { id: string | null; name: string | null } {
  const issuer = credential.issuer;
  if (typeof issuer === 'string') return { id: issuer, name: null };
  if (isObject(issuer)) return { id: str(issuer.id), name: str(issuer.name) };
  return { id: null, name: null };
}

function asList(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function isOpenBadgesContext(url: unknown): boolean {
  return typeof url === 'string' && url.includes('imsglobal') && url !== OB_EXTENSIONS_CONTEXT && hasStaticDocument(url);
}

function isDate(value: unknown): value is string {
  return typeof value === 'string' && vc.dateRegex.test(value) && !Number.isNaN(Date.parse(value));
}

/** Why this is not an OB 3.0 / VC 2.0 credential at all (empty: it has the right shape).
 * Unknown context URLs are deliberately not a format problem: they mean a changed context,
 * which the proof check reports as tampering. */
function formatProblems(credential: JsonObject): string[] {
  const problems: string[] = [];
  const contexts = credential['@context'];
  if (!Array.isArray(contexts) || contexts.length === 0) {
    problems.push('it has no @context list, so it is not a Verifiable Credential');
  } else if (contexts[0] === VC_V1_CONTEXT) {
    problems.push('it uses the Verifiable Credentials 1.1 data model, and Lectern issues and verifies VC 2.0 credentials');
  } else if (typeof contexts[0] === 'string' && hasStaticDocument(contexts[0]) && contexts[0] !== VC_V2_CONTEXT) {
    problems.push('its @context does not start with the Verifiable Credentials 2.0 context');
  } else if (contexts.every((c) => typeof c === 'string' && hasStaticDocument(c)) && !contexts.some(isOpenBadgesContext)) {
    problems.push('its @context has no Open Badges 3.0 context');
  }
  const types = asList(credential.type);
  if (!types.includes('VerifiableCredential')) problems.push("its type does not include 'VerifiableCredential'");
  if (!types.some((t) => typeof t === 'string' && OB_CREDENTIAL_TYPES.includes(t))) {
    problems.push("its type includes neither 'OpenBadgeCredential' nor 'AchievementCredential'");
  }
  if (typeof credential.id !== 'string') problems.push('it has no id');
  if (!issuerOf(credential).id) problems.push('it names no issuer');
  const subject = credential.credentialSubject;
  if (!isObject(subject)) problems.push('it has no credentialSubject');
  else if (!isObject(subject.achievement)) problems.push('its credentialSubject has no achievement');
  const proofs = asList(credential.proof);
  if (proofs.length === 0 || !proofs.every(isObject)) problems.push('it has no proof, so it is not signed');
  if (!isDate(credential.validFrom)) problems.push('its validFrom is missing or not a date-time');
  if (credential.validUntil !== undefined) {
    if (!isDate(credential.validUntil)) problems.push('its validUntil is not a date-time');
    else if (isDate(credential.validFrom) && Date.parse(credential.validUntil) < Date.parse(credential.validFrom)) {
      problems.push('its validUntil is before its validFrom');
    }
  }
  return problems;
}

/** Context entries that are not published contexts bundled with Lectern. */
function contextProblem(credential: JsonObject): string | null {
  const contexts = credential['@context'] as unknown[];
  if (contexts.some((c) => typeof c !== 'string')) {
    return 'its @context embeds a context definition, which can change what the signed terms mean';
  }
  const unknown = (contexts as string[]).filter((c) => !hasStaticDocument(c));
  if (unknown.length === 0) return null;
  return `its @context ${unknown.map((u) => JSON.stringify(truncate(u, 120))).join(', ')} is not one of the published contexts it can be verified against`;
}

class Findings {
  private readonly checks = new Map<CheckName, VerificationCheck>();
  private readonly reasons: { severity: Severity; text: string }[] = [];

  constructor() {
    for (const name of ['FORMAT', 'PROOF', 'ISSUER', 'STATUS', 'VALIDITY_PERIOD'] as const) {
      this.checks.set(name, { name, passed: null, detail: 'not checked' });
    }
  }

  set(name: CheckName, passed: boolean | null, detail: string): void {
    this.checks.set(name, { name, passed, detail });
  }

  skip(names: CheckName[], why: string): void {
    for (const name of names) this.set(name, null, `not checked: ${why}`);
  }

  reason(severity: Severity, text: string): void {
    this.reasons.push({ severity, text });
  }

  status(): VerificationStatus {
    const has = (severity: Severity): boolean => this.reasons.some((r) => r.severity === severity);
    if (has('tampered')) return 'TAMPERED';
    if (has('invalid')) return 'INVALID';
    if (has('revoked')) return 'REVOKED';
    if (has('expired')) return 'EXPIRED';
    return 'VALID';
  }

  sortedReasons(): string[] {
    return SEVERITY_ORDER.flatMap((severity) => this.reasons.filter((r) => r.severity === severity).map((r) => r.text));
  }

  list(): VerificationCheck[] {
    return [...this.checks.values()];
  }
}

async function checkProof(credential: JsonObject, validFrom: string): Promise<{ ok: true } | { ok: false; tampered: boolean; detail: string }> {
  const contextIssue = contextProblem(credential);
  if (contextIssue) return { ok: false, tampered: true, detail: contextIssue };
  try {
    const result = await vc.verifyCredential({
      credential: structuredClone(credential),
      suite: verifierSuite(),
      documentLoader,
      // Dates are judged by our own VALIDITY_PERIOD check (so that an expired credential is
      // EXPIRED, not a failed proof): the library checks them at a moment inside the window.
      now: new Date(validFrom),
      // Status is our own STATUS check, against the list from our database.
      checkStatus: async () => ({ verified: true }),
    });
    if (result.verified) return { ok: true };
    // A VerificationError comes from the proof itself; anything else from the library's
    // structural checks that run before it (a malformed credential, not a changed one).
    const tampered = result.error?.name === 'VerificationError';
    return { ok: false, tampered, detail: describeError(result.error ?? 'the proof does not verify') };
  } catch (error) {
    return { ok: false, tampered: false, detail: describeError(error) };
  }
}

type StatusOutcome = { passed: boolean | null; detail: string; severity?: Severity };

async function checkRevocation(credential: JsonObject, deps: VerificationDeps): Promise<StatusOutcome> {
  if (credential.credentialStatus === undefined) {
    const detail = 'its revocation status cannot be checked: it has no credentialStatus';
    return { passed: null, detail, severity: 'caveat' };
  }
  let entry: { statusListCredential: string; statusListIndex: string };
  try {
    entry = statusListLib.getCredentialStatus({ credential, statusPurpose: 'revocation' });
  } catch (error) {
    return { passed: false, detail: `its revocation status entry is malformed: ${describeError(error)}`, severity: 'invalid' };
  }
  const url = entry.statusListCredential;
  const list = await deps.statusList(url);
  if (!list) {
    return { passed: null, detail: `its revocation status cannot be checked: the status list ${truncate(url, 200)} is not known here`, severity: 'caveat' };
  }
  let result: Awaited<ReturnType<typeof statusListLib.checkStatus>>;
  try {
    // The library verifies the list credential's own proof and that its issuer is the
    // credential's issuer (a list signed by anyone else could "un-revoke" credentials).
    result = await statusListLib.checkStatus({
      credential,
      documentLoader: documentLoaderWith(new Map([[url, list]])),
      suite: verifierSuite(),
      verifyBitstringStatusListCredential: true,
      verifyMatchingIssuers: true,
    });
  } catch (error) {
    result = { verified: false, error: error instanceof Error ? error : new Error(String(error)) };
  }
  if (!result.verified) {
    return { passed: false, detail: `its status list cannot be trusted: ${describeError(result.error ?? 'it does not verify')}`, severity: 'invalid' };
  }
  if (result.results?.some((r) => r.status === true)) return { passed: false, detail: 'it was revoked by its issuer', severity: 'revoked' };
  return { passed: true, detail: `not revoked (entry ${entry.statusListIndex} of ${url})` };
}

export async function verifyAchievementCredential(input: unknown, deps: VerificationDeps): Promise<CredentialVerification> {
  const now = deps.now ?? new Date();
  const findings = new Findings();
  const parsed = parseInput(input);
  if (!parsed.ok) {
    findings.set('FORMAT', false, parsed.reason);
    findings.skip(['PROOF', 'ISSUER', 'STATUS', 'VALIDITY_PERIOD'], 'the input is not a credential');
    findings.reason('invalid', `this is not a credential: ${parsed.reason}`);
    return {
      status: findings.status(),
      reasons: findings.sortedReasons(),
      checks: findings.list(),
      credentialId: null,
      issuer: null,
      achievementName: null,
      validFrom: null,
      validUntil: null,
    };
  }
  const credential = parsed.credential;
  const claimedIssuer = issuerOf(credential);
  const subject = isObject(credential.credentialSubject) ? credential.credentialSubject : {};
  const achievement = isObject(subject.achievement) ? subject.achievement : {};
  let issuerName = claimedIssuer.name;
  const result = (): CredentialVerification => ({
    status: findings.status(),
    reasons: findings.sortedReasons(),
    checks: findings.list(),
    credentialId: str(credential.id),
    issuer: claimedIssuer.id ? { id: claimedIssuer.id, name: issuerName } : null,
    achievementName: str(achievement.name),
    validFrom: str(credential.validFrom),
    validUntil: str(credential.validUntil),
  });

  const problems = formatProblems(credential);
  if (problems.length > 0) {
    findings.set('FORMAT', false, problems.join('; '));
    findings.skip(['PROOF', 'ISSUER', 'STATUS', 'VALIDITY_PERIOD'], 'the document is not an Open Badges 3.0 credential');
    findings.reason('invalid', `this is not an Open Badges 3.0 credential Lectern can verify: ${problems.join('; ')}`);
    return result();
  }
  findings.set('FORMAT', true, 'an Open Badges 3.0 credential (Verifiable Credentials 2.0)');
  const issuerId = claimedIssuer.id as string;
  const validFrom = credential.validFrom as string;

  if (!issuerId.startsWith('did:key:')) {
    // Lectern issues only with did:key; any other issuer cannot be one of our organizations,
    // and resolving it would mean going to the network.
    findings.set('PROOF', null, `not checked: issued by ${truncate(issuerId, 200)}, and Lectern verifies only its own did:key issuers`);
    findings.set('ISSUER', false, `issued by ${truncate(issuerId, 200)}, which is not an organization on this Lectern`);
    findings.skip(['STATUS', 'VALIDITY_PERIOD'], 'the issuer is not an organization on this Lectern');
    findings.reason('invalid', `issued by ${truncate(issuerId, 200)}, which is not an organization on this Lectern`);
    return result();
  }

  const proof = await checkProof(credential, validFrom);
  if (!proof.ok) {
    if (proof.tampered) {
      findings.set('PROOF', false, proof.detail);
      findings.reason('tampered', `the credential was changed after it was signed: ${proof.detail}`);
    } else {
      findings.set('FORMAT', false, proof.detail);
      findings.set('PROOF', null, 'not checked: the credential is malformed');
      findings.reason('invalid', `this is not a well-formed Verifiable Credential: ${proof.detail}`);
    }
    findings.skip(['ISSUER', 'STATUS', 'VALIDITY_PERIOD'], 'the content of the credential cannot be trusted');
    return result();
  }
  findings.set('PROOF', true, `signed by ${issuerId} (eddsa-rdfc-2022 Data Integrity proof)`);

  const [organization, revocation] = await Promise.all([deps.issuer(issuerId), checkRevocation(credential, deps)]);
  const contexts = credential['@context'] as string[];
  if (organization && !LECTERN_CONTEXT_LISTS.some((list) => list.length === contexts.length && list.every((c, i) => c === contexts[i]))) {
    const detail = `its @context is not the one Lectern signs with (${ISSUED_CONTEXTS.join(', ')})`;
    findings.set('PROOF', false, detail);
    findings.reason('tampered', `the credential was changed after it was signed: ${detail}`);
  }
  if (organization) {
    issuerName = organization.name;
    findings.set('ISSUER', true, `issued by ${organization.name} (${issuerId})`);
  } else {
    const text = `signed by ${issuerId}, which is not an organization on this Lectern`;
    findings.set('ISSUER', false, text);
    findings.reason('invalid', text);
  }

  findings.set('STATUS', revocation.passed, revocation.detail);
  if (revocation.severity) findings.reason(revocation.severity, revocation.detail);

  const from = Date.parse(validFrom);
  const until = typeof credential.validUntil === 'string' ? Date.parse(credential.validUntil) : null;
  if (from > now.getTime() + CLOCK_SKEW_MS) {
    const text = `it is not valid before ${validFrom}`;
    findings.set('VALIDITY_PERIOD', false, text);
    findings.reason('invalid', text);
  } else if (until !== null && now.getTime() > until) {
    const text = `it expired on ${credential.validUntil as string}`;
    findings.set('VALIDITY_PERIOD', false, text);
    findings.reason('expired', text);
  } else {
    findings.set('VALIDITY_PERIOD', true, until === null ? `valid since ${validFrom}, with no end date` : `valid from ${validFrom} until ${credential.validUntil as string}`);
  }
  return result();
}

/**
 * The libraries' verifier alone: `vc.verifyCredential` with the static loader, and, when a
 * status list credential is given, the Bitstring Status List library's `checkStatus` with that
 * list served at its id. Without one, the status is not checked (`revoked: null`).
 */
export async function verifyOffline(
  credential: unknown,
  statusListCredential?: object | null,
  opts: { now?: Date } = {},
): Promise<OfflineVerification> {
  if (!isObject(credential)) return { verified: false, revoked: null, errors: [`the credential is ${describeKind(credential)}, not a JSON object`] };
  try {
    let loader = documentLoader;
    let checkStatus: Parameters<typeof vc.verifyCredential>[0]['checkStatus'] = async () => ({ verified: true });
    if (statusListCredential) {
      const id = (statusListCredential as { id?: unknown }).id;
      if (typeof id !== 'string') return { verified: false, revoked: null, errors: ['the status list credential has no id'] };
      loader = documentLoaderWith(new Map([[id, statusListCredential]]));
      checkStatus = statusListLib.checkStatus;
    }
    const result = await vc.verifyCredential({
      credential: structuredClone(credential),
      suite: verifierSuite(),
      documentLoader: loader,
      checkStatus,
      ...(opts.now ? { now: opts.now } : {}),
    });
    const status = result.statusResult;
    const revoked = statusListCredential && status?.verified ? (status.results ?? []).some((r) => r.status === true) : null;
    const errors = [result.error, status?.error].filter((e): e is Error => e !== undefined).map((e) => describeError(e));
    // The library reports a revoked credential as verified (its status check "worked"); a
    // caller reading only `verified` must not take a revoked credential for a good one.
    if (revoked) errors.push('the credential is revoked: its bit is set in the status list');
    return { verified: result.verified && revoked !== true, revoked, errors };
  } catch (error) {
    return { verified: false, revoked: null, errors: [describeError(error)] };
  }
}
