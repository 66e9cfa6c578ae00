// The organization's issuer: one Ed25519 key per organization, as a did:key, made the first time
// the organization needs it. Its secret half is stored sealed (AES-256-GCM under a key derived
// from CERTIFICATION_SECRET and the organization's id) and opened only to sign; the public half
// IS the DID, so a credential verifies without Lectern. public_issuers tells the public verifier
// which organization a did:key is, and the organization's name as of its last issue.
import type { EntityManager } from '@mikro-orm/postgresql';
import { generateIssuerKey, openSecret, sealSecret, type IssuerKey } from '../credential/keys.ts';

type Sql = Pick<EntityManager, 'execute'>;

interface IssuerRow {
  did: string;
  public_key_multibase: string;
  sealed_secret: Buffer;
}

/**
 * The organization's issuer key, made on first use (a concurrent first use keeps one key: the
 * row's primary key decides and the loser's key is dropped). Runs in the caller's transaction.
 */
export async function ensureIssuer(em: Sql, tenantId: string, secret: string): Promise<IssuerKey> {
  let [row] = await em.execute<IssuerRow[]>(`select did, public_key_multibase, sealed_secret from issuers where tenant_id = ?`, [tenantId]);
  if (!row) {
    const key = await generateIssuerKey();
    await em.execute(
      `insert into issuers (tenant_id, did, public_key_multibase, sealed_secret) values (?, ?, ?, ?) on conflict (tenant_id) do nothing`,
      [tenantId, key.did, key.publicKeyMultibase, sealSecret(key.secretKeyMultibase, secret, tenantId)],
    );
    [row] = await em.execute<IssuerRow[]>(`select did, public_key_multibase, sealed_secret from issuers where tenant_id = ?`, [tenantId]);
    if (!row) throw new Error('the issuer key was not stored');
  }
  const secretKeyMultibase = openSecret(Buffer.from(row.sealed_secret), secret, tenantId);
  return { did: row.did, verificationMethod: `${row.did}#${row.public_key_multibase}`, publicKeyMultibase: row.public_key_multibase, secretKeyMultibase };
}

/** Records (or refreshes) which organization a did:key is, and its name, for the public verifier. */
export async function publishIssuer(em: Sql, tenantId: string, did: string, name: string): Promise<void> {
  await em.execute(
    `insert into public_issuers (did, organization_id, name) values (?, ?, ?)
     on conflict (did) do update set name = excluded.name, updated_at = now() where public_issuers.name <> excluded.name`,
    [did, tenantId, name],
  );
}
