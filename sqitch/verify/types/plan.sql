-- Verify contextinject:types/plan on pg
BEGIN;

SET LOCAL expect.type = 'public.plan';
SET LOCAL expect.labels = 'free, starter, pro, enterprise';
\ir ../../lib/expect_labels.sql

ROLLBACK;
