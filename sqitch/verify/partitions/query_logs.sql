-- Verify contextinject:partitions/query_logs on pg
BEGIN;

SET LOCAL expect.relation = 'public.query_logs';
\ir ../../lib/expect_tenant_policy.sql
\ir ../../lib/expect_partition_set.sql

ROLLBACK;
