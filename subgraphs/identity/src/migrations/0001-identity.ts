import type { Migration } from '@lectern/kernel/db';

export const m0001: Migration = {
  id: '0001-identity',
  up: (h) => [
    // Tenants themselves: looked up by slug before anyone is signed in, so not under RLS;
    // services expose only the caller's own organization.
    `CREATE TABLE organizations (
       id uuid PRIMARY KEY,
       slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
       name text NOT NULL,
       created_at timestamptz NOT NULL DEFAULT now()
     )`,
    // Global humans; what they see is decided by tenant-scoped memberships.
    `CREATE TABLE users (
       id uuid PRIMARY KEY,
       email text NOT NULL UNIQUE CHECK (email = lower(email)),
       display_name text NOT NULL,
       password_hash text,
       super_admin boolean NOT NULL DEFAULT false,
       time_zone text NOT NULL DEFAULT 'UTC',
       created_at timestamptz NOT NULL DEFAULT now()
     )`,
    `CREATE TABLE memberships (
       id uuid PRIMARY KEY,
       tenant_id uuid NOT NULL REFERENCES organizations(id),
       user_id uuid NOT NULL REFERENCES users(id),
       roles text[] NOT NULL CHECK (cardinality(roles) > 0),
       status text NOT NULL CHECK (status IN ('INVITED', 'ACTIVE')),
       created_at timestamptz NOT NULL DEFAULT now(),
       UNIQUE (tenant_id, user_id),
       UNIQUE (tenant_id, id)
     )`,
    `CREATE INDEX memberships_user ON memberships (user_id)`,
    ...h.tenantTable('memberships'),
    `CREATE TABLE invitations (
       id uuid PRIMARY KEY,
       tenant_id uuid NOT NULL REFERENCES organizations(id),
       membership_id uuid NOT NULL,
       token_hash text NOT NULL,
       expires_at timestamptz NOT NULL,
       accepted_at timestamptz,
       created_at timestamptz NOT NULL DEFAULT now(),
       FOREIGN KEY (tenant_id, membership_id) REFERENCES memberships (tenant_id, id)
     )`,
    ...h.tenantTable('invitations'),
    // One row per issued refresh token; a family is one sign-in and its rotations.
    `CREATE TABLE refresh_tokens (
       id uuid PRIMARY KEY,
       tenant_id uuid NOT NULL REFERENCES organizations(id),
       user_id uuid NOT NULL REFERENCES users(id),
       family_id uuid NOT NULL,
       token_hash text NOT NULL,
       expires_at timestamptz NOT NULL,
       used_at timestamptz,
       revoked_at timestamptz,
       created_at timestamptz NOT NULL DEFAULT now()
     )`,
    `CREATE INDEX refresh_tokens_family ON refresh_tokens (tenant_id, family_id)`,
    ...h.tenantTable('refresh_tokens'),
    `CREATE TABLE api_keys (
       id uuid PRIMARY KEY,
       tenant_id uuid NOT NULL REFERENCES organizations(id),
       name text NOT NULL,
       prefix text NOT NULL,
       secret_hash text NOT NULL,
       scopes text[] NOT NULL,
       created_by uuid REFERENCES users(id),
       created_at timestamptz NOT NULL DEFAULT now(),
       last_used_at timestamptz,
       revoked_at timestamptz,
       expires_at timestamptz,
       UNIQUE (tenant_id, name)
     )`,
    ...h.tenantTable('api_keys'),
  ],
};
