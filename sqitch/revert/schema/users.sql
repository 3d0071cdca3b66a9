-- Revert contextinject:schema/users from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP TABLE public.users;

COMMIT;
