-- Revert contextinject:partitions/usage_events from pg
-- Back to one plain table with every row (keys without created_at again); same lock as deploy.
BEGIN;
SET LOCAL lock_timeout = '5s';

DO $$
BEGIN
    PERFORM public.rebuild_log_table('public.usage_events', false);
END
$$;

COMMIT;
