import type { Migration } from '@lectern/kernel/db';

/**
 * The few reads that cross organizations, each a SECURITY DEFINER function answering about one
 * person or a list of session ids, never a table: the signed-in person's own memberships (the
 * organization switcher) and pending invitations, whether sessions are revoked (the gateway
 * refuses access tokens of ended sessions), and ending every session of a person (changing a
 * password). The functions run as the schema owner, which FORCE ROW LEVEL SECURITY also binds:
 * owner-only policies let them read across tenants; the runtime role keeps the tenant policy
 * alone and may only execute the functions. Users get a locale (BCP 47).
 */
export const m0003: Migration = {
  id: '0003-viewer-and-sessions',
  up: (h) => {
    const role = `lectern_${h.schema}`;
    const fn = (signature: string) => [`REVOKE ALL ON FUNCTION ${signature} FROM PUBLIC`, `GRANT EXECUTE ON FUNCTION ${signature} TO ${role}`];
    return [
      `ALTER TABLE users ADD COLUMN locale text`,
      `CREATE POLICY owner_functions ON memberships FOR SELECT TO CURRENT_USER USING (true)`,
      `CREATE POLICY owner_functions ON invitations FOR SELECT TO CURRENT_USER USING (true)`,
      `CREATE POLICY owner_functions_read ON refresh_tokens FOR SELECT TO CURRENT_USER USING (true)`,
      `CREATE POLICY owner_functions_update ON refresh_tokens FOR UPDATE TO CURRENT_USER USING (true) WITH CHECK (true)`,
      `CREATE INDEX refresh_tokens_live_family ON refresh_tokens (family_id) WHERE revoked_at IS NULL AND used_at IS NULL`,
      `CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id) WHERE revoked_at IS NULL`,
      `CREATE INDEX invitations_membership ON invitations (membership_id)`,
      // The person's ACTIVE memberships in every organization, with the organization.
      `CREATE FUNCTION viewer_memberships(p_user uuid)
         RETURNS TABLE (id uuid, tenant_id uuid, user_id uuid, roles text[], status text, created_at timestamptz)
         LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ${h.schema}, pg_temp AS $$
           select m.id, m.tenant_id, m.user_id, m.roles, m.status, m.created_at
             from memberships m
            where m.user_id = p_user and m.status = 'ACTIVE'
            order by m.created_at, m.id
         $$`,
      ...fn('viewer_memberships(uuid)'),
      // Invitations addressed to the person that are still pending (not accepted, not expired).
      `CREATE FUNCTION viewer_pending_invitations(p_user uuid)
         RETURNS TABLE (id uuid, tenant_id uuid, membership_id uuid, roles text[], expires_at timestamptz, created_at timestamptz)
         LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ${h.schema}, pg_temp AS $$
           select i.id, i.tenant_id, i.membership_id, m.roles, i.expires_at, i.created_at
             from invitations i
             join memberships m on m.tenant_id = i.tenant_id and m.id = i.membership_id
            where m.user_id = p_user and m.status = 'INVITED' and i.accepted_at is null and i.expires_at > now()
            order by i.created_at, i.id
         $$`,
      ...fn('viewer_pending_invitations(uuid)'),
      // Which of the session ids (refresh families; the access token's sid) have no live refresh token.
      `CREATE FUNCTION sessions_ended(p_ids uuid[])
         RETURNS SETOF uuid
         LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ${h.schema}, pg_temp AS $$
           select s.id from unnest(p_ids) as s(id)
            where not exists (
              select 1 from refresh_tokens r
               where r.family_id = s.id and r.revoked_at is null and r.used_at is null and r.expires_at > now())
         $$`,
      ...fn('sessions_ended(uuid[])'),
      // Ends every session of the person, in every organization; the number of tokens revoked.
      `CREATE FUNCTION end_user_sessions(p_user uuid)
         RETURNS integer
         LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = ${h.schema}, pg_temp AS $$
           with ended as (update refresh_tokens set revoked_at = now() where user_id = p_user and revoked_at is null returning 1)
           select count(*)::int from ended
         $$`,
      ...fn('end_user_sessions(uuid)'),
    ];
  },
};
