// Creates the platform's first SUPER_ADMIN (a platform operator: creates organizations), or
// makes an existing account one. Idempotent: running it again changes nothing (an existing
// account's password is never changed by it). Connects as the schema owner, as
// `node scripts/db.ts migrate` does (DATABASE_URL, DATABASE_OWNER_USER, DATABASE_OWNER_PASSWORD).
//
//   node scripts/create-super-admin.ts --email ops@example.com --password '<12+ characters>' [--name 'Olga Operator']
//                                      [--organization <slug> [--organization-name <name>]]
//
// --organization also creates that organization if it does not exist, so a fresh platform has
// one to sign in to. Then sign in (login with the organization's slug; a SUPER_ADMIN may sign in
// to any organization) and call createOrganization.
import { parseArgs } from 'node:util';
import { connectionString, explainDatabaseError } from '@lectern/kernel/db';
import { databaseEnv, parseEnv } from '@lectern/kernel/env';
import { createSuperAdmin } from '@lectern/identity/server';

const USAGE = "usage: node scripts/create-super-admin.ts --email <email> --password <password> [--name <display name>] [--organization <slug> [--organization-name <name>]]";

export async function main(argv: string[], env = parseEnv(databaseEnv)): Promise<string> {
  const { values } = parseArgs({
    args: argv,
    options: {
      email: { type: 'string' },
      password: { type: 'string' },
      name: { type: 'string' },
      organization: { type: 'string' },
      'organization-name': { type: 'string' },
    },
    strict: true,
  });
  if (!values.email || !values.password) throw new Error(USAGE);
  const ownerUrl = connectionString(env.DATABASE_URL, { user: env.DATABASE_OWNER_USER, password: env.DATABASE_OWNER_PASSWORD });
  const r = await createSuperAdmin(ownerUrl, {
    email: values.email,
    password: values.password,
    displayName: values.name,
    organization: values.organization ? { slug: values.organization, name: values['organization-name'] } : undefined,
  });
  const org = r.organization ? `; organization "${r.organization.slug}" ${r.organization.created ? 'created' : 'exists'}` : '';
  return `super admin ${values.email.trim().toLowerCase()} ${r.status} (user ${r.userId})${org}`;
}

if (import.meta.main) {
  try {
    console.log(await main(process.argv.slice(2)));
  } catch (err) {
    if ((err as Error).message === USAGE) {
      console.error(USAGE);
      process.exit(2);
    }
    console.error(`create-super-admin failed: ${explainDatabaseError(err, parseEnv(databaseEnv).DATABASE_URL)}`);
    process.exit(1);
  }
}
