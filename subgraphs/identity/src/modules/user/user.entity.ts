import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/postgresql';
import type { Role } from '@lectern/kernel';

export const UserSchema = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    email: p.string(),
    displayName: p.string(),
    passwordHash: p.string().nullable(),
    superAdmin: p.boolean().default(false),
    timeZone: p.string().default('UTC'),
    /** BCP 47 language tag the user chose; null when none. */
    locale: p.string().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export class User extends UserSchema.class {}
UserSchema.setClass(User);

/** The caller as `me` answers it (the SDL's Viewer); its fields resolve from these. */
export interface ViewerModel {
  /** The user's id, or the API key's. */
  principalId: string;
  kind: 'USER' | 'API_KEY';
  userId: string | null;
  tenantId: string | null;
  roles: Role[];
  superAdmin: boolean;
  scopes: string[];
}
