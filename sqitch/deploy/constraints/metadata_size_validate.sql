-- Deploy contextinject:constraints/metadata_size_validate to pg
-- VALIDATE takes SHARE UPDATE EXCLUSIVE: reads and writes continue while old rows are checked.
BEGIN;
SET LOCAL lock_timeout = '5s';

ALTER TABLE public.projects VALIDATE CONSTRAINT projects_metadata_size_check;
ALTER TABLE public.connectors VALIDATE CONSTRAINT connectors_metadata_size_check;
ALTER TABLE public.documents VALIDATE CONSTRAINT documents_metadata_size_check;
ALTER TABLE public.chunks VALIDATE CONSTRAINT chunks_metadata_size_check;
ALTER TABLE public.conversations VALIDATE CONSTRAINT conversations_metadata_size_check;
ALTER TABLE public.query_logs VALIDATE CONSTRAINT query_logs_metadata_size_check;
ALTER TABLE public.usage_events VALIDATE CONSTRAINT usage_events_metadata_size_check;
ALTER TABLE public.audit_logs VALIDATE CONSTRAINT audit_logs_metadata_size_check;

COMMIT;
