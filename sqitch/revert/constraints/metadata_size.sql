-- Revert contextinject:constraints/metadata_size from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

ALTER TABLE public.projects DROP CONSTRAINT projects_metadata_size_check;
ALTER TABLE public.connectors DROP CONSTRAINT connectors_metadata_size_check;
ALTER TABLE public.documents DROP CONSTRAINT documents_metadata_size_check;
ALTER TABLE public.chunks DROP CONSTRAINT chunks_metadata_size_check;
ALTER TABLE public.conversations DROP CONSTRAINT conversations_metadata_size_check;
ALTER TABLE public.query_logs DROP CONSTRAINT query_logs_metadata_size_check;
ALTER TABLE public.usage_events DROP CONSTRAINT usage_events_metadata_size_check;
ALTER TABLE public.audit_logs DROP CONSTRAINT audit_logs_metadata_size_check;

COMMIT;
