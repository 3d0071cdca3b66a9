-- Deploy contextinject:functions/lookup_login_user to pg
-- Dashboard sign-in names a tenant (slug) and an email before any tenant context exists. This
-- SECURITY DEFINER look-up returns that tenant's verified user with the password hash the app
-- must check (argon2id); nothing for an unknown slug, unknown email or unverified address.
-- Owned by ci_auth_lookup (NOLOGIN, BYPASSRLS), pinned search_path, callable by ci_app only.
BEGIN;
SET LOCAL lock_timeout = '5s';

CREATE FUNCTION public.lookup_login_user(p_tenant_slug text, p_email text)
RETURNS TABLE (
    user_id uuid,
    tenant_id uuid,
    email varchar(255),
    name varchar(255),
    role public.role,
    password_hash varchar(255)
)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT u.id, u.tenant_id, u.email, u.name, u.role, u.password_hash
    FROM public.tenants AS t
    JOIN public.users AS u ON u.tenant_id = t.id
    WHERE t.slug = p_tenant_slug
      AND u.email = p_email
      AND u.email_verified = true
$$;

GRANT SELECT ON public.tenants, public.users TO ci_auth_lookup;
-- ci_owner may not SET ROLE ci_auth_lookup; the image's narrow hand-over does the ALTER OWNER.
SELECT ci_guard.give_to_auth_lookup('public.lookup_login_user(text, text)');
REVOKE ALL ON FUNCTION public.lookup_login_user(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.lookup_login_user(text, text) TO ci_app;

COMMIT;
