-- Deploy contextinject:functions/lookup_api_key to pg
-- Authenticating an API key happens before the tenant is known, and RLS hides api_keys until
-- it is. This narrow SECURITY DEFINER look-up answers one question: which live key, if any, has
-- this SHA-256? It returns nothing for an expired key or an unknown hash. It is owned by
-- ci_auth_lookup (NOLOGIN, BYPASSRLS, SELECT on api_keys only), pins its search_path so no
-- caller's objects can shadow ours, and only ci_app may call it.
BEGIN;
SET LOCAL lock_timeout = '5s';

CREATE FUNCTION public.lookup_api_key(p_key_hash text)
RETURNS TABLE (
    id uuid,
    tenant_id uuid,
    prefix varchar(20),
    name varchar(100),
    scopes jsonb,
    environment public.api_key_env,
    expires_at timestamptz
)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT k.id, k.tenant_id, k.prefix, k.name, k.scopes, k.environment, k.expires_at
    FROM public.api_keys AS k
    WHERE k.key_hash = p_key_hash
      AND (k.expires_at IS NULL OR k.expires_at > pg_catalog.now())
$$;

GRANT SELECT ON public.api_keys TO ci_auth_lookup;
-- ci_owner may not SET ROLE ci_auth_lookup; the image's narrow hand-over does the ALTER OWNER.
SELECT ci_guard.give_to_auth_lookup('public.lookup_api_key(text)');
REVOKE ALL ON FUNCTION public.lookup_api_key(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.lookup_api_key(text) TO ci_app;

COMMIT;
