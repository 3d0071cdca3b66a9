-- Verify contextinject:rls/audit_logs on pg
BEGIN;

SET LOCAL expect.relation = 'public.audit_logs';
\ir ../../lib/expect_tenant_policy.sql

ROLLBACK;
