-- Verify contextinject:rls/projects on pg
BEGIN;

SET LOCAL expect.relation = 'public.projects';
\ir ../../lib/expect_tenant_policy.sql

ROLLBACK;
