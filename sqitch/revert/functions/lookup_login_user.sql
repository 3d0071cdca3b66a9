-- Revert contextinject:functions/lookup_login_user from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP FUNCTION public.lookup_login_user(text, text);
REVOKE SELECT ON public.tenants, public.users FROM ci_auth_lookup;

COMMIT;
