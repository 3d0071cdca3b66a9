-- Verify contextinject:types/role on pg
BEGIN;

SET LOCAL expect.type = 'public.role';
SET LOCAL expect.labels = 'owner, admin, member, viewer';
\ir ../../lib/expect_labels.sql

ROLLBACK;
