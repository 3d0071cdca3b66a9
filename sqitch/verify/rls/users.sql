-- Verify contextinject:rls/users on pg
BEGIN;

SET LOCAL expect.relation = 'public.users';
\ir ../../lib/expect_tenant_policy.sql

ROLLBACK;
