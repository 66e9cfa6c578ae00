import { DigestItemSchema, DigestSchema } from './modules/digest/digest.entity.ts';
import { EmailSentSchema } from './modules/email/email.entity.ts';
import { NotificationSchema } from './modules/inbox/notification.entity.ts';
import { PreferenceSchema } from './modules/preferences/preference.entity.ts';

export const entities = [NotificationSchema, PreferenceSchema, DigestSchema, DigestItemSchema, EmailSentSchema];
