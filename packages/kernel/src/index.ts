export * from './actor.ts';
export * from './errors.ts';
export * from './idempotency.ts';
export * from './loaders.ts';
export * from './pagination.ts';
export * from './uow.ts';
export * from './policy.ts';
export type { Logger } from './logger.ts';
