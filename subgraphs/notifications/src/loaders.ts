// One DataLoader per lookup, created once per request: whatever an operation selects costs one
// batched query per kind of thing. Queries run in the request's unit of work (the caller's
// organization only); notifications are further limited to the caller's own.
import { DataLoader, manyLoader, oneLoader, type Actor, type UnitOfWork } from '@lectern/kernel';
import { uuidArrayLiteral } from '@lectern/kernel/rows';
import { Notification } from './modules/inbox/notification.entity.ts';
import { Preference } from './modules/preferences/preference.entity.ts';

export function createLoaders(uow: UnitOfWork, actor: Actor) {
  const em = () => uow.em();
  // Another person's notification is not there for this request (it looks missing).
  const owner = actor.userId ?? '00000000-0000-0000-0000-000000000000';
  const loaders = {
    notification: oneLoader<string, Notification>(
      async (ids) => (await em()).find(Notification, { id: { $in: [...ids] }, userId: owner, inApp: true }),
      (n) => n.id,
    ),
    preferencesByUser: manyLoader<string, Preference>(
      async (userIds) => (await em()).find(Preference, { userId: { $in: [...userIds] } }, { orderBy: { category: 'asc', channel: 'asc' } }),
      (p) => p.userId,
    ),
    unreadCount: new DataLoader<string, number>(async (userIds) => {
      const rows = await (await em()).execute<{ user_id: string; n: number }[]>(
        `select user_id, count(*)::int as n from notifications
          where tenant_id = ? and user_id = any(?::uuid[]) and in_app and read_at is null group by user_id`,
        [uow.tenantId, uuidArrayLiteral(userIds)],
      );
      const byUser = new Map(rows.map((r) => [r.user_id, r.n]));
      return userIds.map((id) => byUser.get(id) ?? 0);
    }),
  };
  const all: DataLoader<string, unknown>[] = Object.values(loaders);
  return {
    ...loaders,
    /** Forgets everything loaded so far: a mutation's payload must show the state it left. */
    clearAll() {
      for (const loader of all) loader.clearAll();
    },
  };
}

export type NotificationsLoaders = ReturnType<typeof createLoaders>;
