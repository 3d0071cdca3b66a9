-- Verify contextinject:rls/chunks on pg
BEGIN;

SET LOCAL expect.relation = 'public.chunks';
\ir ../../lib/expect_tenant_policy.sql

ROLLBACK;
