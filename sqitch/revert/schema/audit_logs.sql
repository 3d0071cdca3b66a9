-- Revert contextinject:schema/audit_logs from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP TABLE public.audit_logs;

COMMIT;
