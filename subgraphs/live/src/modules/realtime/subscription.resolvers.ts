// The session's subscription fields. Each admits only people who may see the session
// (NOT_FOUND otherwise, exactly as a missing session), streams its channel (sessionEvents the
// session's, the others their kind's: events.ts), and asks for a presence lease: while
// subscribed, the subscriber is present (modules/presence).
import { subscriptionField, type Admission } from '@lectern/kernel/subscriptions';
import { forbidden } from '@lectern/kernel';
import type { Context } from '../../context.ts';
import { messageView } from '../session/session.entity.ts';
import { kindChannel, sessionChannel, type LiveEvent } from './events.ts';

type Args = { sessionId: string };

/** Authorizes the caller for the session (all its events, or one kind) and asks for their presence lease. */
const admitTo = (kind: LiveEvent['type'] | null) =>
  async function admit(args: Args, ctx: Context): Promise<Admission> {
    const session = await ctx.reads.visibleSession(args.sessionId);
    const { actor } = ctx;
    if (actor.kind !== 'user' || !actor.userId || !actor.tenantId) throw forbidden('Only a signed-in person joins a session');
    const [tenantId, userId] = [actor.tenantId, actor.userId];
    const channel = kind ? kindChannel(session.id, kind) : sessionChannel(session.id);
    // Let in by the roster (not by role): each renewal of the lease checks the roster again.
    const byRoster = !ctx.viewer.all;
    return { channel, lease: (leaseId) => ctx.presence.join(leaseId, tenantId, session.id, userId, byRoster) };
  };

export const subscriptionResolvers = {
  Subscription: {
    sessionEvents: subscriptionField<Context, Args, LiveEvent>({ admit: admitTo(null) }),
    chatMessageAdded: subscriptionField<Context, Args, LiveEvent>({
      admit: admitTo('ChatMessagePosted'),
      resolve: (e) => (e.type === 'ChatMessagePosted' ? messageView(e.message) : null),
    }),
    presenceChanged: subscriptionField<Context, Args, LiveEvent>({
      admit: admitTo('PresenceChanged'),
      resolve: (e) => (e.type === 'PresenceChanged' ? e : null),
    }),
    handRaised: subscriptionField<Context, Args, LiveEvent>({
      admit: admitTo('HandRaised'),
      resolve: (e) => (e.type === 'HandRaised' ? { sessionId: e.sessionId, userId: e.userId, position: e.position, raisedAt: e.raisedAt } : null),
    }),
  },
};
