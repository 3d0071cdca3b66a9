-- Verify contextinject:partitions/usage_events on pg
BEGIN;

SET LOCAL expect.relation = 'public.usage_events';
\ir ../../lib/expect_tenant_policy.sql
\ir ../../lib/expect_partition_set.sql

ROLLBACK;
