-- The contract's roles, run by the entrypoint as the superuser on every start (idempotent):
-- new roles appear on old volumes and a changed password applies on restart.
-- psql variables: db, superuser, and <role>_password for each password that was given.
-- Keep passwords out of the server log whatever log_statement says.
SET log_statement = 'none';
SET log_min_duration_statement = -1;
SET password_encryption = 'scram-sha-256';

SELECT format('CREATE ROLE %I', r)
FROM unnest(ARRAY['ci_owner', 'ci_migrator', 'ci_app', 'ci_readonly', 'ci_admin', 'pgbouncer_auth',
                   'ci_auth_lookup']) AS r
WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r)
\gexec

-- Attributes are restated every time so a hand edit cannot quietly widen a role.
ALTER ROLE ci_owner NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE ci_migrator LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT;
ALTER ROLE ci_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT;
ALTER ROLE ci_readonly LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT;
ALTER ROLE ci_admin LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION BYPASSRLS NOINHERIT;
ALTER ROLE pgbouncer_auth LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT;
-- Owns the SECURITY DEFINER look-ups that run before the tenant is known (API key by hash,
-- user by tenant slug + email). It must see past RLS, and nobody logs in as it.
ALTER ROLE ci_auth_lookup NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION BYPASSRLS NOINHERIT;

-- ci_migrator acts as ci_owner: every object it creates is owned by the NOLOGIN owner role.
GRANT ci_owner TO ci_migrator WITH INHERIT TRUE, SET TRUE;
ALTER ROLE ci_migrator SET role = 'ci_owner';
-- ci_owner hands its look-up functions to ci_auth_lookup: ALTER FUNCTION ... OWNER needs SET
-- and CREATE on the schema; INHERIT lets a revert drop them. Attributes such as BYPASSRLS are
-- never inherited, so ci_owner (and ci_migrator) stay subject to RLS.
GRANT ci_auth_lookup TO ci_owner WITH INHERIT TRUE, SET TRUE;

\if :{?ci_migrator_password}
ALTER ROLE ci_migrator PASSWORD :'ci_migrator_password';
\endif
\if :{?ci_app_password}
ALTER ROLE ci_app PASSWORD :'ci_app_password';
\endif
\if :{?ci_readonly_password}
ALTER ROLE ci_readonly PASSWORD :'ci_readonly_password';
\endif
\if :{?ci_admin_password}
ALTER ROLE ci_admin PASSWORD :'ci_admin_password';
\endif
\if :{?pgbouncer_auth_password}
ALTER ROLE pgbouncer_auth PASSWORD :'pgbouncer_auth_password';
\endif

-- The database: nobody but the named roles may connect; only ci_owner creates schemas.
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO ci_migrator, ci_app, ci_readonly, ci_admin, pgbouncer_auth;
GRANT CONNECT, CREATE, TEMPORARY ON DATABASE :"db" TO ci_owner;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO ci_owner, ci_auth_lookup;
GRANT USAGE ON SCHEMA public TO ci_app, ci_readonly, ci_admin;

-- The spec's admin reserve: 7 of the 10 reserved connection slots (postgresql.conf).
-- WITH INHERIT: ci_admin is NOINHERIT, and reserved slots need the privileges of the role.
GRANT pg_use_reserved_connections TO ci_admin WITH INHERIT TRUE;
