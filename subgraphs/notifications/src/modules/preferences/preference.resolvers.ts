import type { Context } from '../../context.ts';
import type { SetPreferenceInput, SetPreferenceResult } from './preference.service.ts';
import type { Resolvers } from '../../__generated__/resolvers.ts';

export const preferenceResolvers = {
  Query: {
    notificationPreferences: (_: unknown, __: unknown, ctx: Context) => ctx.preferences.mine(),
  },
  Mutation: {
    setNotificationPreference: (_: unknown, { input }: { input: SetPreferenceInput }, ctx: Context) => ctx.preferences.set(input),
  },
  SetNotificationPreferencePayload: {
    preference: (r: SetPreferenceResult) => r.preference,
    preferences: (_: SetPreferenceResult, __: unknown, ctx: Context) => ctx.preferences.mine(),
    errors: (r: SetPreferenceResult) => r.errors,
  },
} satisfies Resolvers;
