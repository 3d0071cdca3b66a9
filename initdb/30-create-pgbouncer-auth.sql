-- PgBouncer's side of the database, run by the entrypoint as the superuser on every start.
-- get_auth is the auth_query target: it returns the stored SCRAM verifier so PgBouncer can do
-- SCRAM pass-through, and no userlist of application passwords exists anywhere. Owned by the
-- superuser because only it reads pg_authid.
SET log_statement = 'none';

CREATE SCHEMA IF NOT EXISTS pgbouncer AUTHORIZATION :"superuser";
-- A schema the superuser does not own could have its functions swapped by its owner.
ALTER SCHEMA pgbouncer OWNER TO :"superuser";
REVOKE ALL ON SCHEMA pgbouncer FROM PUBLIC;

-- The roles the pooler serves: the manifest's "pooled" ones (psql variable roles_manifest).
CREATE TABLE IF NOT EXISTS pgbouncer.pooled_roles (rolname name PRIMARY KEY);
REVOKE ALL ON pgbouncer.pooled_roles FROM PUBLIC;
TRUNCATE pgbouncer.pooled_roles;
INSERT INTO pgbouncer.pooled_roles (rolname)
SELECT r.name
FROM pg_catalog.jsonb_to_recordset(pg_catalog.jsonb_extract_path(:'roles_manifest'::pg_catalog.jsonb, 'roles'))
    AS r(name name, pooled boolean)
WHERE r.pooled;

SELECT pg_catalog.format('GRANT USAGE ON SCHEMA pgbouncer TO pgbouncer_auth, %s',
    pg_catalog.string_agg(pg_catalog.quote_ident(p.rolname), ', ' ORDER BY p.rolname))
FROM pgbouncer.pooled_roles AS p
\gexec

-- Serves only the pooled roles. Whoever holds pgbouncer_auth's password can read their
-- verifiers (they allow offline guessing, not a login); never ci_migrator's, pgbouncer_auth's
-- own or a superuser's. Refuses NOLOGIN, expired and non-SCRAM roles.
CREATE OR REPLACE FUNCTION pgbouncer.get_auth(p_usename text)
RETURNS TABLE (usename text, passwd text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT a.rolname::text, a.rolpassword::text
    FROM pg_catalog.pg_authid AS a
    WHERE a.rolname = p_usename
      AND a.rolname IN (SELECT p.rolname FROM pgbouncer.pooled_roles AS p)
      AND a.rolcanlogin
      AND NOT a.rolsuper
      AND (a.rolvaliduntil IS NULL OR a.rolvaliduntil > pg_catalog.now())
      AND a.rolpassword LIKE 'SCRAM-SHA-256$%'
$$;
REVOKE ALL ON FUNCTION pgbouncer.get_auth(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgbouncer.get_auth(text) TO pgbouncer_auth;

-- Part of PgBouncer's server_reset_query in its default (full) mode, run after every
-- transaction: a statement PREPAREd in SQL on a pooled connection can only be a client trying to
-- take over one of PgBouncer's protocol-level statement names (PGBOUNCER_n), so that server
-- connection is closed instead of handed on. SQL, not plpgsql, and no SET clause: it runs after
-- every transaction, and every name in it is qualified.
DROP FUNCTION IF EXISTS pgbouncer.reset_server();
CREATE OR REPLACE FUNCTION pgbouncer.close_if_prepared_in_sql()
RETURNS void
LANGUAGE sql
AS $$
    SELECT pg_catalog.pg_terminate_backend(pg_catalog.pg_backend_pid())
    FROM pg_catalog.pg_prepared_statements
    WHERE from_sql
    LIMIT 1
$$;
REVOKE ALL ON FUNCTION pgbouncer.close_if_prepared_in_sql() FROM PUBLIC;
SELECT pg_catalog.format('GRANT EXECUTE ON FUNCTION pgbouncer.close_if_prepared_in_sql() TO pgbouncer_auth, %s',
    pg_catalog.string_agg(pg_catalog.quote_ident(p.rolname), ', ' ORDER BY p.rolname))
FROM pgbouncer.pooled_roles AS p
\gexec
