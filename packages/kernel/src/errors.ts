// Error codes of DESIGN rule 6, and the formatter that keeps everything else
// (stack traces, SQL, driver messages) away from clients.
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';

export const ERROR_CODES = [
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'BAD_USER_INPUT',
  'CONFLICT',
  'RATE_LIMITED',
  'SERVICE_UNAVAILABLE',
  'INTERNAL_SERVER_ERROR',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Codes Apollo Server and graphql-js produce for malformed requests; safe to show as they are. */
const REQUEST_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  // The gateway's refusals of an operation as sent (trusted-documents.ts, cost.ts).
  'TRUSTED_DOCUMENT_REQUIRED',
  'COST_LIMIT_EXCEEDED',
]);

const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  SERVICE_UNAVAILABLE: 503,
};

export class AppError extends GraphQLError {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
    super(message, { extensions: { ...extensions, code } });
    this.code = code;
  }
}

export const unauthenticated = (message = 'Authentication required') => new AppError('UNAUTHENTICATED', message);
export const forbidden = (message = 'You are not allowed to do this') => new AppError('FORBIDDEN', message);
export const notFound = (what = 'Object') => new AppError('NOT_FOUND', `${what} not found`);
export const badInput = (message: string, field?: string) =>
  new AppError('BAD_USER_INPUT', message, field ? { field } : {});
export const conflict = (message: string) => new AppError('CONFLICT', message);
export const rateLimited = (message: string, retryAfterSeconds: number) =>
  new AppError('RATE_LIMITED', message, { retryAfterSeconds });

/** A dependency (Redis, another subgraph) is down: the caller may retry after `retryAfterSeconds`. */
export const serviceUnavailable = (what: string, retryAfterSeconds = 5) =>
  new AppError('SERVICE_UNAVAILABLE', `${what} is unavailable right now; retry in a few seconds`, { retryAfterSeconds });

/**
 * An expected outcome of a mutation, returned in its payload's `errors` (never thrown). Every
 * subgraph's SDL declares the same `UserError` interface (code, message, path) and the
 * `UserErrorCode` values it uses (the supergraph's enum is their union, each value described):
 *   interface UserError { code: UserErrorCode! message: String! path: [String!] }
 * `path` names the input field at fault, from the mutation's input (["input", "email"]), or
 * is null when the outcome is not about one field.
 */
export interface UserError<C extends string = string> {
  code: C;
  message: string;
  path: string[] | null;
}

/** A UserError; `field` is the input field at fault (a path under `input`). */
export const userError = <C extends string>(code: C, message: string, field?: string | null): UserError<C> => ({
  code,
  message,
  path: field ? ['input', ...field.split('.')] : null,
});

export function httpStatusFor(code: string): number | undefined {
  return HTTP_STATUS[code as ErrorCode];
}

export interface ErrorSink {
  error(obj: object, msg: string): void;
}

/**
 * Apollo `formatError`: passes through errors that carry a public code and a safe message;
 * everything else becomes a bare INTERNAL_SERVER_ERROR, logged in full on the server.
 */
export function makeFormatError(log: ErrorSink) {
  // Redis (or another backing connection) cannot be reached: ioredis's MaxRetriesPerRequestError,
  // 'Connection is closed', the offline-queue refusal of a fail-fast client (redis.ts), a command
  // timeout, a refused or reset socket, anywhere in the cause chain. A Redis reply error
  // (WRONGTYPE, NOSCRIPT…) is a bug, not an outage. Such errors answer SERVICE_UNAVAILABLE with
  // `retryAfterSeconds`, never INTERNAL_SERVER_ERROR (redis.ts explains the fail-fast client).
  const UNAVAILABLE_NAMES = new Set(['MaxRetriesPerRequestError', 'ConnectionClosedError']);
  const UNAVAILABLE_CODES = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENOTFOUND)$/;
  const UNAVAILABLE_MESSAGE = /Connection is closed|Stream isn't writeable|Reached the max retries per request limit|Command timed out|\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT)\b/i;
  const backingServiceDown = (err: unknown): boolean => {
    let e = err as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown; originalError?: unknown } | null | undefined;
    for (let depth = 0; e && typeof e === 'object' && depth < 6; depth++, e = (e.originalError ?? e.cause) as typeof e) {
      if (typeof e.name === 'string' && UNAVAILABLE_NAMES.has(e.name)) return true;
      if (typeof e.code === 'string' && UNAVAILABLE_CODES.test(e.code)) return true;
      if (e.name !== 'ReplyError' && typeof e.message === 'string' && UNAVAILABLE_MESSAGE.test(e.message)) return true;
    }
    return false;
  };
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    if (!(original instanceof AppError) && backingServiceDown(original)) {
      log.error({ err: original }, 'a backing service is unavailable; answered SERVICE_UNAVAILABLE');
      const unavailable = serviceUnavailable('A service this request needs');
      return {
        message: unavailable.message,
        ...(formatted.locations ? { locations: formatted.locations } : {}),
        ...(formatted.path ? { path: formatted.path } : {}),
        extensions: unavailable.extensions,
      };
    }
    const code = formatted.extensions?.code as string | undefined;
    // Duck-typed on purpose: graphql may be loaded twice (its CJS and ESM builds), so
    // `instanceof GraphQLError` is not a reliable test of where an error came from.
    const graphqlShaped = typeof original === 'object' && original !== null && 'extensions' in original;
    const publicError =
      original instanceof AppError ||
      (code !== undefined && REQUEST_CODES.has(code)) ||
      (code !== undefined && code !== 'INTERNAL_SERVER_ERROR' && (ERROR_CODES as readonly string[]).includes(code) && graphqlShaped);
    if (publicError) {
      const { stacktrace: _s, exception: _e, ...extensions } = (formatted.extensions ?? {}) as Record<string, unknown>;
      return { ...formatted, extensions };
    }
    log.error({ err: original }, 'unexpected error while executing a GraphQL operation');
    return {
      message: 'Internal server error',
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}
