-- Revert contextinject:types/document_status from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP TYPE public.document_status;

COMMIT;
