-- Deploy contextinject:types/document_status to pg
-- The spec's documentStatusEnum, declared in pipeline order so status < 'indexed' means
-- "still in flight" for workers that pick up unfinished documents.
BEGIN;
SET LOCAL lock_timeout = '5s';

CREATE TYPE public.document_status AS ENUM ('pending', 'processing', 'embedding', 'indexed', 'failed', 'deleted');

COMMIT;
