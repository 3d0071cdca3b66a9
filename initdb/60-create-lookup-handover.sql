-- The one privileged step of the look-up functions' deploy, run by the entrypoint as the
-- superuser on every start. lookup_api_key and lookup_login_user run before the tenant is known,
-- so they belong to ci_auth_lookup (BYPASSRLS). ALTER FUNCTION ... OWNER needs SET on the new
-- owner, and a ci_owner with SET on ci_auth_lookup lets ci_migrator SET ROLE past RLS without
-- any DDL. Instead the deploy hands a function over through this narrow SECURITY DEFINER call,
-- over TCP as well as at start: only a SECURITY DEFINER lookup_* function in public, owned by
-- ci_owner, with its search_path pinned. (ci_owner could write such a function to read past RLS,
-- but that is DDL, logged, and no more than ci_owner can do to its own tables.)
SET log_statement = 'none';

CREATE OR REPLACE FUNCTION ci_guard.give_to_auth_lookup(p_function regprocedure)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (
        SELECT FROM pg_catalog.pg_proc AS p
        WHERE p.oid = p_function
          AND p.pronamespace = 'public'::regnamespace
          AND p.proowner = 'ci_owner'::regrole
          AND p.proname LIKE 'lookup\_%'
          AND p.prosecdef
          AND p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp']
    ) THEN
        RAISE EXCEPTION 'ci-db: % is not a look-up function ci_owner may hand to ci_auth_lookup', p_function
            USING HINT = 'Only SECURITY DEFINER public.lookup_* functions owned by ci_owner with search_path = pg_catalog, pg_temp.';
    END IF;
    EXECUTE format('ALTER FUNCTION %s OWNER TO ci_auth_lookup', p_function);
END
$$;
REVOKE ALL ON FUNCTION ci_guard.give_to_auth_lookup(regprocedure) FROM PUBLIC;
GRANT USAGE ON SCHEMA ci_guard TO ci_owner;
GRANT EXECUTE ON FUNCTION ci_guard.give_to_auth_lookup(regprocedure) TO ci_owner;
