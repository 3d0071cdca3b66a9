-- PgBouncer's auth_query target, run by the entrypoint as the superuser on every start.
-- Returns the stored SCRAM verifier so PgBouncer can do SCRAM pass-through: no userlist of
-- application passwords exists anywhere. Owned by the superuser because only it reads pg_authid.
SET log_statement = 'none';

CREATE SCHEMA IF NOT EXISTS pgbouncer AUTHORIZATION :"superuser";
REVOKE ALL ON SCHEMA pgbouncer FROM PUBLIC;
GRANT USAGE ON SCHEMA pgbouncer TO pgbouncer_auth;

-- Refuses superusers, roles that cannot log in or have expired, and anything not SCRAM.
CREATE OR REPLACE FUNCTION pgbouncer.get_auth(p_usename text)
RETURNS TABLE (usename text, passwd text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT a.rolname::text, a.rolpassword::text
    FROM pg_catalog.pg_authid AS a
    WHERE a.rolname = p_usename
      AND a.rolcanlogin
      AND NOT a.rolsuper
      AND a.rolname <> 'pgbouncer_auth'
      AND (a.rolvaliduntil IS NULL OR a.rolvaliduntil > pg_catalog.now())
      AND a.rolpassword LIKE 'SCRAM-SHA-256$%'
$$;
REVOKE ALL ON FUNCTION pgbouncer.get_auth(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgbouncer.get_auth(text) TO pgbouncer_auth;
