-- Verify contextinject:rls/api_keys on pg
BEGIN;

SET LOCAL expect.relation = 'public.api_keys';
\ir ../../lib/expect_tenant_policy.sql

ROLLBACK;
