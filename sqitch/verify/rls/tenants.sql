-- Verify contextinject:rls/tenants on pg
BEGIN;

SET LOCAL expect.relation = 'public.tenants';
\ir ../../lib/expect_tenant_policy.sql

ROLLBACK;
