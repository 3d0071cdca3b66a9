-- Revert contextinject:types/api_key_env from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP TYPE public.api_key_env;

COMMIT;
