-- Verify contextinject:types/connector_status on pg
BEGIN;

SET LOCAL expect.type = 'public.connector_status';
SET LOCAL expect.labels = 'active, paused, error, disconnected';
\ir ../../lib/expect_labels.sql

ROLLBACK;
