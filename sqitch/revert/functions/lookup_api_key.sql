-- Revert contextinject:functions/lookup_api_key from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP FUNCTION public.lookup_api_key(text);
REVOKE SELECT ON public.api_keys FROM ci_auth_lookup;

COMMIT;
