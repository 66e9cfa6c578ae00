// The signed-in person's own profile: display name, time zone (digests use it) and locale.
import { authorize, badInput, forbidden, idempotentWrite, type Actor, type UnitOfWork } from '@lectern/kernel';
import { identityError, type IdentityError } from '../../errors.ts';
import { User } from './user.entity.ts';

/** The canonical IANA name of `tz`, or null when it is not one. */
export function ianaTimeZone(tz: string): string | null {
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(tz) || tz.length > 64) return null;
  try {
    return new Intl.DateTimeFormat('en', { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

/** The canonical BCP 47 form of `tag`, or null when it is not a language tag. */
export function bcp47(tag: string): string | null {
  if (tag.length > 35) return null;
  try {
    return Intl.getCanonicalLocales(tag)[0] ?? null;
  } catch {
    return null;
  }
}

export class UserService {
  async updateProfile(uow: UnitOfWork, actor: Actor, input: { displayName?: string | null; timeZone?: string | null; locale?: string | null; idempotencyKey: string }) {
    authorize(actor, {});
    if (actor.kind !== 'user' || !actor.userId) throw forbidden('Only a signed-in person has a profile');
    const userId = actor.userId;
    const errors: IdentityError[] = [];
    const displayName = input.displayName?.trim();
    if (input.displayName != null && (!displayName || displayName.length > 200)) throw badInput('displayName must be 1-200 characters', 'displayName');
    const timeZone = input.timeZone != null ? ianaTimeZone(input.timeZone.trim()) : undefined;
    if (timeZone === null) errors.push(identityError('INVALID_TIME_ZONE', `${input.timeZone} is not an IANA time zone (such as Europe/Paris)`, 'timeZone'));
    const locale = input.locale != null ? bcp47(input.locale.trim()) : undefined;
    if (locale === null) errors.push(identityError('INVALID_LOCALE', `${input.locale} is not a BCP 47 language tag (such as en-GB)`, 'locale'));
    if (errors.length) return { userId, errors };
    return idempotentWrite(uow, actor, 'updateProfile', { ...input, displayName, timeZone, locale }, async (em) => {
      const user = await em.findOneOrFail(User, { id: userId });
      if (displayName) user.displayName = displayName;
      if (timeZone) user.timeZone = timeZone;
      if (locale) user.locale = locale;
      await em.flush();
      return { userId, errors: [] as IdentityError[] };
    });
  }
}
