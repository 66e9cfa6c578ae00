// Opaque credentials (refresh tokens, invitations, API keys) carry the tenant and row id
// in clear, so the right tenant-scoped unit of work can look them up, and a random secret
// of which only a SHA-256 is stored (the secret has 256 bits: no slow hash needed).
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from '@lectern/kernel';

const hex = (uuid: string) => uuid.replace(/-/g, '');
const uuid = (h: string) => `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;

export interface OpaqueParts {
  tenantId: string;
  id: string;
}

export function mintOpaque(prefix: string, tenantId: string, id: string): { token: string; hash: string } {
  const token = `${prefix}_${hex(tenantId)}_${hex(id)}_${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashSecret(token) };
}

export function parseOpaque(prefix: string, token: string): OpaqueParts | null {
  const m = new RegExp(`^${prefix}_([0-9a-f]{32})_([0-9a-f]{32})_[A-Za-z0-9_-]{43}$`).exec(token);
  return m ? { tenantId: uuid(m[1]!), id: uuid(m[2]!) } : null;
}

export const hashSecret = (token: string) => createHash('sha256').update(token).digest('hex');

export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Encrypts idempotent results that hold credentials. The key is derived from a server
 * secret and the request input itself, which is never stored: only a caller replaying the
 * very same input (password or refresh token included) can read the stored result.
 */
export function resultSealer(serverSecret: string) {
  const keyFor = (input: unknown) =>
    Buffer.from(hkdfSync('sha256', serverSecret, 'lectern-idempotency', canonicalJson(input), 32));
  return {
    seal(value: unknown, input: unknown) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', keyFor(input), iv);
      const data = Buffer.concat([cipher.update(JSON.stringify(value ?? null), 'utf8'), cipher.final()]);
      return { sealed: Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64') };
    },
    open(stored: unknown, input: unknown) {
      const raw = Buffer.from((stored as { sealed: string }).sealed, 'base64');
      const decipher = createDecipheriv('aes-256-gcm', keyFor(input), raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return JSON.parse(Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')) as unknown;
    },
  };
}
