-- Verify contextinject:rls/documents on pg
BEGIN;

SET LOCAL expect.relation = 'public.documents';
\ir ../../lib/expect_tenant_policy.sql

ROLLBACK;
