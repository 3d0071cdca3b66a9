-- Verify contextinject:types/region on pg
BEGIN;

SET LOCAL expect.type = 'public.region';
SET LOCAL expect.labels = 'us, eu, apac';
\ir ../../lib/expect_labels.sql

ROLLBACK;
