-- Deploy contextinject:functions/run_partition_maintenance to pg
-- What pg_cron runs (initdb/25-schedule-partition-maintenance.sql schedules it as ci_partman):
-- pg_partman's maintenance of the log tables, then their new partitions secured. SECURITY
-- DEFINER as the owner, granted to ci_partman only: ci_partman itself holds no privilege on any
-- table and cannot read a row; this function is all it can do. Making and dropping partitions
-- needs the owner (ALTER TABLE ... ATTACH/DETACH PARTITION, DROP TABLE), and the owner is held
-- to the tenant policy (FORCE), so nothing here reads tenant rows either.
-- lock_timeout: detaching a partition past retention takes an ACCESS EXCLUSIVE lock on the
-- parent, and inserts queue behind a waiting lock. A run that cannot get it within 1 s gives up
-- (the error is in cron.job_run_details) and the next run retries, so inserts never wait long.
BEGIN;
SET LOCAL lock_timeout = '5s';

CREATE FUNCTION public.run_partition_maintenance()
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '1s'
AS $$
DECLARE
    parent text;
    partitions integer := 0;
BEGIN
    FOR parent IN
        SELECT c.parent_table FROM partman.part_config AS c
        WHERE c.parent_table IN ('public.query_logs', 'public.usage_events', 'public.audit_logs')
        ORDER BY 1
    LOOP
        PERFORM partman.run_maintenance(p_parent_table := parent, p_jobmon := false);
        partitions := partitions + public.secure_partitions(parent::pg_catalog.regclass);
    END LOOP;
    RETURN partitions;
END
$$;

REVOKE EXECUTE ON FUNCTION public.run_partition_maintenance() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.run_partition_maintenance() TO ci_partman;

COMMIT;
