-- The contract's roles, run by the entrypoint as the superuser on every start (idempotent):
-- new roles appear on old volumes and a changed password applies on restart.
-- psql variables: db, superuser, and <role>_password for each password that was given.
-- The superuser's search_path is pg_catalog, pg_temp (set by the entrypoint) and every name is
-- qualified: ci_owner can create objects in public, and a planted public.unnest(text[]) would
-- otherwise outrank pg_catalog.unnest(anyarray) and run as the superuser.
-- Keep passwords out of the server log whatever log_statement says.
SET log_statement = 'none';
SET log_min_duration_statement = -1;
SET password_encryption = 'scram-sha-256';

-- The login guard (50-create-login-guard.sql) would put back what it recorded at the last start
-- as soon as anyone logs in: it forgets that until 50 records what this start sets.
SELECT pg_catalog.to_regclass('ci_guard.login_roles') IS NOT NULL AS guard_exists
\gset
\if :guard_exists
TRUNCATE ci_guard.login_roles;
\endif

SELECT pg_catalog.format('CREATE ROLE %I', r)
FROM pg_catalog.unnest(ARRAY['ci_owner', 'ci_migrator', 'ci_app', 'ci_readonly', 'ci_admin', 'pgbouncer_auth',
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

-- Role defaults are exactly the ones below: whatever a role set for itself is dropped here
-- (and by the login guard, initdb/50, between starts).
ALTER ROLE ci_migrator RESET ALL;
ALTER ROLE ci_migrator IN DATABASE :"db" RESET ALL;
ALTER ROLE ci_app RESET ALL;
ALTER ROLE ci_app IN DATABASE :"db" RESET ALL;
ALTER ROLE ci_readonly RESET ALL;
ALTER ROLE ci_readonly IN DATABASE :"db" RESET ALL;
ALTER ROLE ci_admin RESET ALL;
ALTER ROLE ci_admin IN DATABASE :"db" RESET ALL;
ALTER ROLE pgbouncer_auth RESET ALL;
ALTER ROLE pgbouncer_auth IN DATABASE :"db" RESET ALL;

-- ci_migrator acts as ci_owner: every object it creates is owned by the NOLOGIN owner role.
GRANT ci_owner TO ci_migrator WITH INHERIT TRUE, SET TRUE;
ALTER ROLE ci_migrator SET role = 'ci_owner';
-- ci_owner hands its look-up functions to ci_auth_lookup: ALTER FUNCTION ... OWNER needs SET
-- and CREATE on the schema; INHERIT lets a revert drop them. Attributes such as BYPASSRLS are
-- never inherited, so ci_owner (and ci_migrator) stay subject to RLS.
-- SET is withheld: with it, ci_migrator could SET ROLE ci_auth_lookup and read every tenant's
-- hashes without any DDL. The entrypoint lends SET (and CREATE on the database) to ci_owner
-- only while it deploys the plan on the socket-only start-up server.
GRANT ci_auth_lookup TO ci_owner WITH INHERIT TRUE;
REVOKE SET OPTION FOR ci_auth_lookup FROM ci_owner;

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

-- The database: nobody but the named roles may connect. Nobody but the superuser creates
-- schemas: a ci_owner schema named like the superuser ("$user") would lead its search_path.
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO ci_migrator, ci_app, ci_readonly, ci_admin, pgbouncer_auth;
REVOKE CREATE ON DATABASE :"db" FROM ci_owner;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO ci_owner;
-- The maintenance databases are the superuser's: no login role connects or makes TEMP tables.
REVOKE CONNECT, TEMPORARY ON DATABASE postgres, template1 FROM PUBLIC;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO ci_owner, ci_auth_lookup;
GRANT USAGE ON SCHEMA public TO ci_app, ci_readonly, ci_admin;

-- The spec's admin reserve: 7 of the 10 reserved connection slots (postgresql.conf).
-- WITH INHERIT: ci_admin is NOINHERIT, and reserved slots need the privileges of the role.
GRANT pg_use_reserved_connections TO ci_admin WITH INHERIT TRUE;

-- Spilled sorts and hashes are bounded per session, so one role cannot fill the data volume.
-- temp_file_limit is superuser-only, so the roles cannot raise or reset it themselves.
ALTER ROLE ci_app SET temp_file_limit = '256MB';
ALTER ROLE ci_readonly SET temp_file_limit = '1GB';
ALTER ROLE ci_admin SET temp_file_limit = '1GB';
