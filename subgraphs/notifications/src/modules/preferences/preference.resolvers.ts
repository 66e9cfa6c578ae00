// NotificationPreference, the caller's preferences and setNotificationPreference.
import { globalId } from '@lectern/kernel';
import type { Context } from '../../context.ts';
import type { EffectivePreference, SetPreferenceInput, SetPreferenceResult } from './preference.service.ts';
import type { Resolvers } from '../../__generated__/resolvers.ts';

export const preferenceResolvers = {
  Query: {
    notificationPreferences: (_: unknown, __: unknown, ctx: Context) => ctx.preferences.mine(),
  },
  Mutation: {
    setNotificationPreference: (_: unknown, { input }: { input: SetPreferenceInput }, ctx: Context) => ctx.preferences.set(input),
  },
  NotificationPreference: {
    // Only the caller's own choices, in the organization they are signed in to.
    __resolveReference: (ref: { id: string }, ctx: Context) => ctx.preferences.byId(ref.id),
    id: (p: EffectivePreference) => globalId('NotificationPreference', p.tenantId, p.userId, p.category, p.channel),
  },
  SetNotificationPreferencePayload: {
    preference: (r: SetPreferenceResult) => r.preference,
    preferences: (_: SetPreferenceResult, __: unknown, ctx: Context) => ctx.preferences.mine(),
    errors: (r: SetPreferenceResult) => r.errors,
  },
} satisfies Resolvers;
