-- Verify contextinject:rls/conversations on pg
BEGIN;

SET LOCAL expect.relation = 'public.conversations';
\ir ../../lib/expect_tenant_policy.sql

ROLLBACK;
