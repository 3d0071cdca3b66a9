-- Verify contextinject:rls/usage_events on pg
BEGIN;

SET LOCAL expect.relation = 'public.usage_events';
\ir ../../lib/expect_tenant_policy.sql

ROLLBACK;
