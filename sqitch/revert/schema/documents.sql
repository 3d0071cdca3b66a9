-- Revert contextinject:schema/documents from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP TABLE public.documents;

COMMIT;
