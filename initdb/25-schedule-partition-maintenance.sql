-- pg_cron, and the one job it runs: pg_partman's maintenance of the time-partitioned log tables
-- (docs/partitions.md), as ci_partman, which may only call public.run_partition_maintenance()
-- (a Sqitch change; until it is deployed the job fails harmlessly, see cron.job_run_details).
-- pg_cron's jobs run as the role that scheduled them, and only a superuser may schedule one for
-- another role: nobody but the superuser gets USAGE on schema cron, so no role can schedule a
-- job at all, for itself or anyone. The job runs in a background worker
-- (cron.use_background_workers), so ci_partman needs no password and has none.
-- psql variables: db, partman_schedule (CI_DB_PARTITION_MAINTENANCE_SCHEDULE, cron syntax).
-- The extension exists only in cron.database_name (the entrypoint sets it to POSTGRES_DB); the
-- ci image's template and its clones get a copy of the schema but no job runs there.
\if :{?partman_schedule}
\else
\set partman_schedule '7 * * * *'
\endif
-- A configuration without pg_cron in shared_preload_libraries (a user's own, or the stock one
-- the tuning bench compares with) cannot create it: the database then runs without the job.
SELECT pg_catalog.current_database() OPERATOR(pg_catalog.=)
    pg_catalog.current_setting('cron.database_name', true)
    AND pg_catalog.current_setting('shared_preload_libraries')
        OPERATOR(pg_catalog.~) '(^|,)\s*pg_cron\s*(,|$)' AS cron_here
\gset
\if :cron_here
CREATE EXTENSION IF NOT EXISTS pg_cron;
ALTER EXTENSION pg_cron UPDATE;
REVOKE ALL ON SCHEMA cron FROM PUBLIC, ci_owner, ci_migrator, ci_app, ci_readonly, ci_admin,
    pgbouncer_auth, ci_auth_lookup, ci_monitor, ci_partman;
-- pg_cron hands PUBLIC EXECUTE on its functions and SELECT on its job tables (behind a policy
-- on the username): taken back too, so no role holds any privilege there even on paper.
REVOKE EXECUTE ON ALL ROUTINES IN SCHEMA cron FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA cron FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA cron FROM PUBLIC;
-- Named, so every start updates the same job (schedule, command, role) instead of adding one.
SELECT cron.schedule_in_database('ci-db-partition-maintenance', :'partman_schedule',
    'SELECT public.run_partition_maintenance()', :'db', 'ci_partman', true);
\endif
