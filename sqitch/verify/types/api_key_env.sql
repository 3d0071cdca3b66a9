-- Verify contextinject:types/api_key_env on pg
BEGIN;

SET LOCAL expect.type = 'public.api_key_env';
SET LOCAL expect.labels = 'live, test';
\ir ../../lib/expect_labels.sql

ROLLBACK;
