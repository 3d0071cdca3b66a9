-- Deploy contextinject:partitions/audit_logs to pg
-- audit_logs becomes a pg_partman range partition set on created_at (docs/partitions.md), its rows
-- moved in this transaction: the table is locked ACCESS EXCLUSIVE from the rebuild to COMMIT,
-- so its writes and reads wait for the copy (all three tables at 20k rows each: 3 s on two
-- loaded cores, about 5 s per 100k rows; nothing is lost, a row count mismatch aborts it).
-- The primary key becomes (id, created_at): a partitioned table's unique keys must include the
-- partition key.
-- Settings read at deploy, e.g. PGOPTIONS='-c cidb.log_partition_interval=1 week' sqitch deploy:
-- cidb.log_partition_interval (default 1 month) and cidb.audit_logs_retention (default 36 months;
-- the audit trail: kept longest)).
-- After the first deploy partman.part_config holds both (README "Retention").
BEGIN;
SET LOCAL lock_timeout = '5s';

DO $$
BEGIN
    PERFORM public.rebuild_log_table('public.audit_logs', true,
        COALESCE(NULLIF(pg_catalog.current_setting('cidb.log_partition_interval', true), ''), '1 month'),
        4,
        COALESCE(NULLIF(pg_catalog.current_setting('cidb.audit_logs_retention', true), ''), '36 months'));
END
$$;

COMMIT;
