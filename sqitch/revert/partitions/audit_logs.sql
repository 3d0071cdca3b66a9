-- Revert contextinject:partitions/audit_logs from pg
-- Back to one plain table with every row (keys without created_at again); same lock as deploy.
BEGIN;
SET LOCAL lock_timeout = '5s';

DO $$
BEGIN
    PERFORM public.rebuild_log_table('public.audit_logs', false);
END
$$;

COMMIT;
