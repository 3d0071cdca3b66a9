-- Verify contextinject:types/document_status on pg
BEGIN;

SET LOCAL expect.type = 'public.document_status';
SET LOCAL expect.labels = 'pending, processing, embedding, indexed, failed, deleted';
\ir ../../lib/expect_labels.sql

ROLLBACK;
