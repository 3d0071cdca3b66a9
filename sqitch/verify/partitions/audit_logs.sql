-- Verify contextinject:partitions/audit_logs on pg
BEGIN;

SET LOCAL expect.relation = 'public.audit_logs';
\ir ../../lib/expect_tenant_policy.sql
\ir ../../lib/expect_partition_set.sql

ROLLBACK;
