// The session's subscription fields. Each admits only people who may see the session
// (NOT_FOUND otherwise, exactly as a missing session), streams the session's channel, and asks
// for a presence lease: while subscribed, the subscriber is present (modules/presence). All
// four read the one stream of session events and keep the ones they carry.
import { subscriptionField, type Admission } from '@lectern/kernel/subscriptions';
import { forbidden } from '@lectern/kernel';
import type { Context } from '../../context.ts';
import { messageView } from '../session/session.entity.ts';
import { sessionChannel, type LiveEvent } from './events.ts';

type Args = { sessionId: string };

/** Authorizes the caller for the session and asks for their presence lease. */
async function admit(args: Args, ctx: Context): Promise<Admission> {
  const session = await ctx.reads.visibleSession(args.sessionId);
  const { actor } = ctx;
  if (actor.kind !== 'user' || !actor.userId || !actor.tenantId) throw forbidden('Only a signed-in person joins a session');
  const [tenantId, userId] = [actor.tenantId, actor.userId];
  return { channel: sessionChannel(session.id), lease: (leaseId) => ctx.presence.join(leaseId, tenantId, session.id, userId) };
}

export const subscriptionResolvers = {
  Subscription: {
    sessionEvents: subscriptionField<Context, Args, LiveEvent>({ admit }),
    chatMessageAdded: subscriptionField<Context, Args, LiveEvent>({
      admit,
      resolve: (e) => (e.type === 'ChatMessagePosted' ? messageView(e.message) : null),
    }),
    presenceChanged: subscriptionField<Context, Args, LiveEvent>({
      admit,
      resolve: (e) => (e.type === 'PresenceChanged' ? e : null),
    }),
    handRaised: subscriptionField<Context, Args, LiveEvent>({
      admit,
      resolve: (e) => (e.type === 'HandRaised' ? { sessionId: e.sessionId, userId: e.userId, position: e.position, raisedAt: e.raisedAt } : null),
    }),
  },
};
