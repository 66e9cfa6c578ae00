// Development-only key material, so `pnpm dev` works with no setup. Production
// refuses to start with these (see requireKey): real deployments pass their own keys.
export const DEV_ACTOR_PRIVATE_KEY =
  '{"crv":"Ed25519","d":"gLvU1Ikkpd6Jm3pbhHcLu9PUHQKPYXj8ROMFM8bTq-c","x":"0aVkjPCvAsaICPSEoubzL7S_aAjrVKTZmN0kztI5pEQ","kty":"OKP"}';
export const DEV_ACTOR_PUBLIC_KEY = '{"crv":"Ed25519","x":"0aVkjPCvAsaICPSEoubzL7S_aAjrVKTZmN0kztI5pEQ","kty":"OKP"}';
export const DEV_IDENTITY_PRIVATE_KEY =
  '{"crv":"Ed25519","d":"yqAZQC2P_v3tvrJH-m30O8BiR7CJZCGL41Zddx7JCDo","x":"KOYlJ7uZauwAHGwXFfrdNvzj5n7vJuGO4ZjNsIqjX9U","kty":"OKP"}';

/** A configured key, or the development default outside production. */
export function requireKey(value: string | undefined, devDefault: string, name: string, nodeEnv: string): string {
  if (value) return value;
  if (nodeEnv === 'production') throw new Error(`${name} must be set in production (an Ed25519 JWK as JSON)`);
  return devDefault;
}
