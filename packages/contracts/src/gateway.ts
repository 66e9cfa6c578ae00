// The gateway as a consumer of events: its queue is events-gateway. It keeps no data of its own,
// only the response cache in Redis, which the events that change cached answers invalidate
// (gateway/src/cache-invalidation.ts).
export const GATEWAY = 'gateway';
