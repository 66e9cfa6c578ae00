// Preferences: the caller's effective choices (stored or default), changing one, and the
// batch lookup event handlers use to decide how each recipient hears of an item.
import type { EntityManager } from '@mikro-orm/postgresql';
import { badInput, idempotentWrite, parseGlobalId, type Actor, type UnitOfWork } from '@lectern/kernel';
import { requireUser } from '../../access.ts';
import { notificationError, type NotificationError } from '../../errors.ts';
import type { NotificationsLoaders } from '../../loaders.ts';
import {
  CATEGORIES,
  CHANNELS,
  DEFAULT_FREQUENCY,
  FREQUENCIES,
  IN_APP_FREQUENCIES,
  isDigest,
  type Category,
  type Channel,
  type Frequency,
} from './categories.ts';
import type { Preference } from './preference.entity.ts';
import { dropPendingItems, retargetPendingItems, storedFrequencies, upsertPreference } from './preferences.store.ts';

export interface EffectivePreference {
  /** Whose choice, in which organization (the global id's keys). */
  tenantId: string;
  userId: string;
  category: Category;
  channel: Channel;
  frequency: Frequency;
  isDefault: boolean;
}

export interface SetPreferenceInput {
  category: Category;
  channel: Channel;
  frequency: Frequency;
  idempotencyKey: string;
}

export interface SetPreferenceResult {
  preference: EffectivePreference | null;
  errors: NotificationError[];
}

/** Every category and channel, in a stable order, with the stored choice or the default. */
export function effective(owner: { tenantId: string; userId: string }, stored: readonly Pick<Preference, 'category' | 'channel' | 'frequency'>[]): EffectivePreference[] {
  const byKey = new Map(stored.map((p) => [`${p.category}:${p.channel}`, p.frequency]));
  return CATEGORIES.flatMap((category) =>
    CHANNELS.map((channel) => {
      const frequency = byKey.get(`${category}:${channel}`);
      return { ...owner, category, channel, frequency: frequency ?? DEFAULT_FREQUENCY[channel][category], isDefault: frequency === undefined };
    }),
  );
}

export type Frequencies = Record<Channel, Frequency>;

/** How each of `userIds` of the organization wants items of `category`, in one query (the handlers' fan-out). */
export async function frequenciesFor(
  em: EntityManager,
  tenantId: string,
  userIds: readonly string[],
  category: Category,
): Promise<Map<string, Frequencies>> {
  const rows = userIds.length ? await storedFrequencies(em, tenantId, category, userIds) : [];
  const result = new Map<string, Frequencies>(userIds.map((id) => [id, { IN_APP: DEFAULT_FREQUENCY.IN_APP[category], EMAIL: DEFAULT_FREQUENCY.EMAIL[category] }]));
  for (const r of rows) result.get(r.userId)![r.channel] = r.frequency;
  return result;
}

export class PreferenceService {
  #actor: Actor;
  #uow: UnitOfWork;
  #loaders: NotificationsLoaders;

  constructor(deps: { actor: Actor; uow: UnitOfWork; loaders: NotificationsLoaders }) {
    this.#actor = deps.actor;
    this.#uow = deps.uow;
    this.#loaders = deps.loaders;
  }

  async mine(): Promise<EffectivePreference[]> {
    requireUser(this.#actor);
    return effective({ tenantId: this.#actor.tenantId, userId: this.#actor.userId }, await this.#loaders.preferencesByUser.load(this.#actor.userId));
  }

  /** One of the caller's own choices by global id, or null (malformed, someone else's, another organization's). */
  async byId(id: string): Promise<EffectivePreference | null> {
    const actor = this.#actor;
    const keys = parseGlobalId(id);
    if (!keys || keys.type !== 'NotificationPreference' || keys.keys.length !== 4) return null;
    const [tenantId, userId, category, channel] = keys.keys as [string, string, string, string];
    if (actor.kind !== 'user' || !actor.userId || !actor.tenantId || tenantId !== actor.tenantId || userId !== actor.userId) return null;
    return (await this.mine()).find((p) => p.category === category && p.channel === channel) ?? null;
  }

  /**
   * Changes one choice. Items already waiting for an email digest of the category follow the
   * change: to the new digest (DAILY / WEEKLY), or out of email altogether (IMMEDIATE / OFF:
   * they stay in the inbox; nothing is sent for the past).
   */
  async set(input: SetPreferenceInput): Promise<SetPreferenceResult> {
    const actor = this.#actor;
    requireUser(actor);
    if (!CATEGORIES.includes(input.category)) throw badInput('category is not a notification category', 'category');
    if (!CHANNELS.includes(input.channel)) throw badInput('channel is not a notification channel', 'channel');
    if (!FREQUENCIES.includes(input.frequency)) throw badInput('frequency is not a notification frequency', 'frequency');
    try {
      return await idempotentWrite(this.#uow, actor, 'setNotificationPreference', input, async (em) => {
        if (input.channel === 'IN_APP' && !IN_APP_FREQUENCIES.includes(input.frequency)) {
          return {
            preference: null,
            errors: [notificationError('FREQUENCY_NOT_SUPPORTED', 'In-app notifications are shown at once or not at all: use IMMEDIATE or OFF', 'frequency')],
          };
        }
        await upsertPreference(em, { tenantId: actor.tenantId, userId: actor.userId, category: input.category, channel: input.channel, frequency: input.frequency });
        if (input.channel === 'EMAIL') await retargetPending(em, actor.tenantId, actor.userId, input.category, input.frequency);
        return { preference: { tenantId: actor.tenantId, userId: actor.userId, category: input.category, channel: input.channel, frequency: input.frequency, isDefault: false }, errors: [] };
      });
    } finally {
      this.#loaders.preferencesByUser.clearAll();
    }
  }
}

async function retargetPending(em: EntityManager, tenantId: string, userId: string, category: Category, frequency: Frequency) {
  if (isDigest(frequency)) {
    await retargetPendingItems(em, tenantId, userId, category, frequency);
  } else {
    await dropPendingItems(em, tenantId, userId, category);
  }
}
