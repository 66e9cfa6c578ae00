import { pino, type DestinationStream, type Logger } from 'pino';
import { logTraceFields } from './tracing.ts';

export type { Logger };

/**
 * JSON logs (one object a line) with the service name on every record; while tracing is on
 * (tracing.ts), each record written inside a span also has its `traceId` and `spanId`.
 * `destination`: where lines go (standard output by default; tests read them).
 */
export function createLogger(service: string, level: string, destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: ['req.headers.authorization', 'password', '*.password', 'token', '*.token'], censor: '[redacted]' },
    // Off, the record is written as it is: nothing is added, nothing is copied.
    mixin: () => logTraceFields() ?? NONE,
    mixinMergeStrategy: (record, ids) => (ids === NONE ? record : Object.assign(ids, record)),
  };
  return destination ? pino(options, destination) : pino(options);
}

const NONE = Object.freeze({});
