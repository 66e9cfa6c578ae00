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
]);

const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
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
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
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
