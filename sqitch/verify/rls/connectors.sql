-- Verify contextinject:rls/connectors on pg
BEGIN;

SET LOCAL expect.relation = 'public.connectors';
\ir ../../lib/expect_tenant_policy.sql

ROLLBACK;
