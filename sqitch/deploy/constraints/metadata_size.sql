-- Deploy contextinject:constraints/metadata_size to pg
-- jsonb metadata is free-form and client-supplied: cap it at 64 KiB of JSON text per row, so
-- one careless or hostile client cannot bloat the hot tables (chunks, documents) or TOAST.
-- NOT VALID: existing rows are not scanned under the ACCESS EXCLUSIVE lock; the next change
-- validates them under a lock that lets reads and writes go on.
BEGIN;
SET LOCAL lock_timeout = '5s';

ALTER TABLE public.projects ADD CONSTRAINT projects_metadata_size_check
    CHECK (octet_length(metadata::text) <= 65536) NOT VALID;
ALTER TABLE public.connectors ADD CONSTRAINT connectors_metadata_size_check
    CHECK (octet_length(metadata::text) <= 65536) NOT VALID;
ALTER TABLE public.documents ADD CONSTRAINT documents_metadata_size_check
    CHECK (octet_length(metadata::text) <= 65536) NOT VALID;
ALTER TABLE public.chunks ADD CONSTRAINT chunks_metadata_size_check
    CHECK (octet_length(metadata::text) <= 65536) NOT VALID;
ALTER TABLE public.conversations ADD CONSTRAINT conversations_metadata_size_check
    CHECK (octet_length(metadata::text) <= 65536) NOT VALID;
ALTER TABLE public.query_logs ADD CONSTRAINT query_logs_metadata_size_check
    CHECK (octet_length(metadata::text) <= 65536) NOT VALID;
ALTER TABLE public.usage_events ADD CONSTRAINT usage_events_metadata_size_check
    CHECK (octet_length(metadata::text) <= 65536) NOT VALID;
ALTER TABLE public.audit_logs ADD CONSTRAINT audit_logs_metadata_size_check
    CHECK (octet_length(metadata::text) <= 65536) NOT VALID;

COMMIT;
