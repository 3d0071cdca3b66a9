-- The contract's roles, run by the entrypoint as the superuser on every start (idempotent):
-- new roles appear on old volumes and a changed password applies on restart.
-- psql variables: db, superuser, roles_manifest (roles.json) and passwords (JSON, the ones to set).
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

-- The roles come from the manifest (src/cidb/roles.json, in the image as
-- $CI_DB_SHARE/roles.json), passed by the entrypoint as the psql variable roles_manifest.
-- By hand: psql -v roles_manifest="$(cat src/cidb/roles.json)" -v db=... -f this file.
\if :{?roles_manifest}
\else
DO $$ BEGIN RAISE EXCEPTION 'set the psql variable roles_manifest to the contents of roles.json'; END $$;
\endif
CREATE TEMPORARY TABLE ci_db_roles ON COMMIT PRESERVE ROWS AS
SELECT r.name, r.login, r.inherit, r.bypassrls, r.password_env, r.settings, r.member_of
FROM pg_catalog.jsonb_to_recordset(pg_catalog.jsonb_extract_path(:'roles_manifest'::pg_catalog.jsonb, 'roles'))
    AS r(name text, login boolean, inherit boolean, bypassrls boolean, password_env text,
         settings pg_catalog.jsonb, member_of pg_catalog.jsonb);

SELECT pg_catalog.format('CREATE ROLE %I', r.name)
FROM pg_temp.ci_db_roles AS r
WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles AS p WHERE p.rolname OPERATOR(pg_catalog.=) r.name)
\gexec

-- Attributes are restated every time so a hand edit cannot quietly widen a role.
-- ci_auth_lookup (manifest: NOLOGIN, BYPASSRLS) owns the SECURITY DEFINER look-ups that run
-- before the tenant is known (API key by hash, user by tenant slug + email): it must see past
-- RLS, and nobody logs in as it.
SELECT pg_catalog.format('ALTER ROLE %I %s NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION %s %s',
    r.name,
    CASE WHEN r.login THEN 'LOGIN' ELSE 'NOLOGIN' END,
    CASE WHEN r.bypassrls THEN 'BYPASSRLS' ELSE 'NOBYPASSRLS' END,
    CASE WHEN r.inherit THEN 'INHERIT' ELSE 'NOINHERIT' END)
FROM pg_temp.ci_db_roles AS r
\gexec

-- Role defaults are exactly the manifest's (set at the end of this file): whatever a login
-- role set for itself is dropped here (and by the login guard, initdb/50, between starts).
SELECT pg_catalog.format('ALTER ROLE %I RESET ALL', r.name),
    pg_catalog.format('ALTER ROLE %I IN DATABASE %I RESET ALL', r.name, :'db')
FROM pg_temp.ci_db_roles AS r
WHERE r.login
\gexec

-- ci_migrator acts as ci_owner: every object it creates is owned by the NOLOGIN owner role.
-- (Its default `role = ci_owner` is in the manifest's settings, set at the end.)
GRANT ci_owner TO ci_migrator WITH INHERIT TRUE, SET TRUE;
-- ci_owner's look-up functions belong to ci_auth_lookup; INHERIT lets ci_owner replace or drop
-- them (a rework, a revert). Attributes such as BYPASSRLS are never inherited, so ci_owner (and
-- ci_migrator) stay subject to RLS. SET is withheld: with it, ci_migrator could SET ROLE
-- ci_auth_lookup and read every tenant's hashes without any DDL; the hand-over itself goes
-- through ci_guard.give_to_auth_lookup() (60-create-lookup-handover.sql).
GRANT ci_auth_lookup TO ci_owner WITH INHERIT TRUE;
REVOKE SET OPTION FOR ci_auth_lookup FROM ci_owner;

-- Passwords: the psql variable passwords is a JSON object {"CI_APP_PASSWORD": "...", ...} of the
-- ones to (re)set (the entrypoint leaves out those that did not change); each role's key is its
-- manifest password_env.
\if :{?passwords}
\else
\set passwords '{}'
\endif
SELECT pg_catalog.format('ALTER ROLE %I PASSWORD %L', r.name,
    pg_catalog.jsonb_extract_path_text(:'passwords'::pg_catalog.jsonb, r.password_env))
FROM pg_temp.ci_db_roles AS r
WHERE r.password_env IS NOT NULL
  AND pg_catalog.jsonb_extract_path_text(:'passwords'::pg_catalog.jsonb, r.password_env) IS NOT NULL
\gexec

-- The database: nobody but the named roles may connect. Nobody but the superuser creates
-- schemas: a ci_owner schema named like the superuser ("$user") would lead its search_path.
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
SELECT pg_catalog.format('GRANT CONNECT ON DATABASE %I TO %s', :'db',
    pg_catalog.string_agg(pg_catalog.quote_ident(r.name), ', ' ORDER BY r.name))
FROM pg_temp.ci_db_roles AS r
WHERE r.login
\gexec
REVOKE CREATE ON DATABASE :"db" FROM ci_owner;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO ci_owner;
-- The maintenance databases are the superuser's: no login role connects or makes TEMP tables.
REVOKE CONNECT, TEMPORARY ON DATABASE postgres, template1 FROM PUBLIC;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO ci_owner, ci_auth_lookup;
GRANT USAGE ON SCHEMA public TO ci_app, ci_readonly, ci_admin;
-- ci_partman: to call public.run_partition_maintenance(), its one privilege (pg_cron's job).
GRANT USAGE ON SCHEMA public TO ci_partman;

-- The spec's admin reserve: 7 of the 10 reserved connection slots (postgresql.conf).
-- WITH INHERIT: ci_admin is NOINHERIT, and reserved slots need the privileges of the role.
GRANT pg_use_reserved_connections TO ci_admin WITH INHERIT TRUE;

-- The manifest's member_of: predefined roles only (ci_monitor: pg_monitor, which reads statistics
-- and settings but no table). WITH INHERIT: the login roles are NOINHERIT.
SELECT pg_catalog.format('GRANT %I TO %I WITH INHERIT TRUE', m.granted, r.name)
FROM pg_temp.ci_db_roles AS r,
    pg_catalog.jsonb_array_elements_text(COALESCE(r.member_of, '[]'::pg_catalog.jsonb)) AS m(granted)
WHERE pg_catalog.starts_with(m.granted, 'pg_')
\gexec

-- The manifest's role defaults. temp_file_limit bounds spilled sorts and hashes per session, so
-- one role cannot fill the data volume; it is superuser-only, so the roles cannot raise or
-- reset it themselves.
SELECT pg_catalog.format('ALTER ROLE %I SET %I = %L', r.name, s.key, s.value)
FROM pg_temp.ci_db_roles AS r, pg_catalog.jsonb_each_text(r.settings) AS s
\gexec

DROP TABLE pg_temp.ci_db_roles;
